/* placeholder */
#include "cli/cli.h"
int kt_cmd_compare(int argc, char **argv) { return KT_EXIT_USAGE; }

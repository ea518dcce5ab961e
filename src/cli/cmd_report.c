/* placeholder */
#include "cli/cli.h"
int kt_cmd_report(int argc, char **argv) { return KT_EXIT_USAGE; }

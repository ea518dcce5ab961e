/*
 * The HTML report page (placeholder until the writer lands).
 */
#include "report/report.h"

#include <errno.h>

int kt_report_html(const char *dir, json_t *docs, const char *title, char **err)
{
	return -ENOSYS;
}

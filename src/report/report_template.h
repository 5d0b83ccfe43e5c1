// The report page's template (report_template.html), embedded at build time by
// cmake/embed_text.cmake: the page with "{{PG_REPORT_DATA}}" where the data goes.
#pragma once

#include <string_view>

namespace parallelagram::report {

std::string_view ReportTemplate();

}  // namespace parallelagram::report

// The Traffic Manager dashboard page served at GET /: one HTML document with inline CSS and
// JS and no other requests than polling GET /api/state every 250 ms (works offline).
#pragma once

namespace drsim::trafficmgr {

const char* dashboard_page_html();

}  // namespace drsim::trafficmgr

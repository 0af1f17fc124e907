// Backup price lists from YAML, for `drsim cost --prices FILE` and the drill steps that run it:
// a `prices:` map of the PriceList fields (per GiB-month, instance fees per month); fields left
// out keep the default list prices. Errors name the file and the field.
#pragma once

#include <string>

#include "cli/yaml_fields.h"
#include "common/core/status.h"
#include "common/model/backup/cost_meter.h"

namespace drsim::cli {

// `prices` is the map node; INVALID_ARGUMENT "file:N: prices.field: reason".
Result<model::PriceList> parse_prices(const YAML::Node& prices, const ConfigError& err);
// A file whose top level holds `prices:`; `source` names it in errors.
Result<model::PriceList> parse_price_file(const std::string& text, const std::string& source);
Result<model::PriceList> load_price_file(const std::string& path);  // the same, from a file

}  // namespace drsim::cli

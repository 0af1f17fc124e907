#include "cli/price_file.h"

#include <set>
#include <utility>
#include <vector>

namespace drsim::cli {

namespace {

std::vector<std::pair<const char*, double model::PriceList::*>> price_fields() {
  return {{"snapshot_per_gib_month", &model::PriceList::snapshot_per_gib_month},
          {"backup_lrs_per_gib_month", &model::PriceList::backup_lrs_per_gib_month},
          {"backup_grs_per_gib_month", &model::PriceList::backup_grs_per_gib_month},
          {"backup_zrs_per_gib_month", &model::PriceList::backup_zrs_per_gib_month},
          {"image_per_gib_month", &model::PriceList::image_per_gib_month},
          {"small_instance_per_month", &model::PriceList::small_instance_per_month},
          {"instance_unit_per_month", &model::PriceList::instance_unit_per_month}};
}

}  // namespace

Result<model::PriceList> parse_prices(const YAML::Node& prices, const ConfigError& err) {
  if (!prices.IsMap()) return err.at("", prices, "must be a map of prices");
  std::set<std::string> names{"currency"};
  for (const auto& [name, member] : price_fields()) names.emplace(name);
  if (Status s = check_keys(err, "", prices, names); !s.is_ok()) return s;
  // One field at a time (the defaults and that one field), so the error points at its line:
  // "file:N: prices.field: reason" without validate()'s own "field: " prefix.
  auto check_one = [&](const model::PriceList& one, const char* name, const YAML::Node& node) {
    Status s = one.validate();
    if (s.is_ok()) return s;
    const std::string& m = s.message();
    return err.at(name, node, m.substr(m.find(": ") + 2));
  };
  model::PriceList list;
  if (const YAML::Node node = prices["currency"]) {
    if (!node.IsScalar()) return err.at("currency", node, "must be a currency code (USD, EUR)");
    model::PriceList one;
    one.currency = node.Scalar();
    if (Status s = check_one(one, "currency", node); !s.is_ok()) return s;
    list.currency = one.currency;
  }
  for (const auto& [name, member] : price_fields()) {
    const YAML::Node node = prices[name];
    if (!node) continue;
    try {
      list.*member = node.as<double>();
    } catch (const YAML::Exception&) {
      return err.at(name, node, "'" + node.Scalar() + "' is not a number");
    }
    model::PriceList one;
    one.*member = list.*member;
    if (Status s = check_one(one, name, node); !s.is_ok()) return s;
  }
  return list;
}

Result<model::PriceList> parse_price_file(const std::string& text, const std::string& source) {
  auto root = load_yaml(text, source);
  if (!root.is_ok()) return root.status();
  ConfigError err(source);
  if (!root->IsMap() || !(*root)["prices"]) {
    return err.at("prices", *root, "required: a map of prices (docs/backup.md)");
  }
  if (Status s = check_keys(err, "", *root, {"prices"}); !s.is_ok()) return s;
  return parse_prices((*root)["prices"], err.nested("prices"));
}

Result<model::PriceList> load_price_file(const std::string& path) {
  auto text = read_text_file(path, "price list");
  if (!text.is_ok()) return text.status();
  return parse_price_file(*text, path);
}

}  // namespace drsim::cli

// The YAML field readers of common/net/yaml_fields.h, under the names the CLI's topology and
// drill parsers use.
#pragma once

#include "common/net/yaml_fields.h"

namespace drsim::cli {

using net::check_keys;
using net::ConfigError;
using net::ErrorStyle;
using net::load_yaml;
using net::read_bool;
using net::read_listen;
using net::read_text_file;
using net::read_uint;

}  // namespace drsim::cli

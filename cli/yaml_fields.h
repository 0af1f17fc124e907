// The YAML field readers of common/config/yaml_fields.h, under the names the CLI's topology and
// drill parsers use.
#pragma once

#include "common/config/yaml_fields.h"

namespace drsim::cli {

using config::check_keys;
using config::ConfigError;
using config::load_yaml;
using config::read_bool;
using config::read_listen;
using config::read_text_file;
using config::read_uint;

}  // namespace drsim::cli

// A drill's faults as Chaos Mesh objects (`drsim drill export --chaos-mesh`), so a team can run
// the same faults against drsim on Kubernetes (deploy/k8s). Pure: a drill in, YAML nodes and the
// list of faults Chaos Mesh cannot express out; the CLI writes them (docs/deploy.md#chaos-mesh).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "cli/drill.h"
#include "cli/faults.h"

namespace drsim::cli {

// The labels deploy/k8s puts on every drsim pod; the component is the daemon's name
// (primary, secondary, trafficmgr). Chaos Mesh selectors match these.
inline constexpr const char* kK8sNameLabel = "app.kubernetes.io/name";
inline constexpr const char* kK8sNameValue = "drsim";
inline constexpr const char* kK8sComponentLabel = "app.kubernetes.io/component";
inline constexpr const char* kChaosMeshApiVersion = "chaos-mesh.org/v1alpha1";

// The namespace each daemon's pod runs in (deploy/k8s/base: all in "drsim"; the two-namespace
// overlay: primary and trafficmgr in drsim-primary, secondary in drsim-secondary).
struct ChaosMeshPlacement {
  std::string default_namespace = "drsim";
  std::map<std::string, std::string> namespace_of;  // daemon -> namespace, overrides the default
  const std::string& namespace_for(const std::string& daemon) const;
};

// When a fault starts and how long it lasts, from the drill's steps (seconds after the load
// started). No duration: never healed in the drill (it lasts until the object is deleted).
struct ChaosMeshWindow {
  double start_s = 0;
  std::optional<double> duration_s;
  // A wait_until (counted at its timeout) or a failover (counted as 0) lies inside the window
  // or before it, so the real times may differ.
  bool approximate = false;
};

// One fault of a drill: the objects it becomes, and what of it Chaos Mesh cannot express (empty
// when everything mapped). A fault may map partly (a link group whose client links have no pod).
struct ChaosMeshFault {
  std::vector<YAML::Node> objects;
  std::vector<std::string> unsupported;  // "pause on primary: ..." one line each
  // restart / resume: no object of its own; it ends an earlier kill / pause (that one's duration).
  bool ends_earlier_fault = false;
};

// Maps one fault. `name` is the objects' name prefix (DNS-1123; suffixes are added when a fault
// becomes several objects). Every FaultSpec::Kind is handled: kinds without an equivalent say
// why in `unsupported`.
ChaosMeshFault chaos_mesh_fault(const FaultSpec& fault, const ChaosMeshWindow& window,
                                const std::string& name, const ChaosMeshPlacement& placement);

// The pods (daemons) on each side of a drsim link ("repl.primary-secondary" -> primary,
// secondary; "client.primary" -> clients, primary: clients have no pod).
struct LinkEnds {
  std::string from;
  std::string to;
};
// The links of the topology `drsim up` starts (cli/topology.cc), by name.
const std::map<std::string, LinkEnds>& topology_links();
// A link selector as `drsim inject` takes it (a link, clients, probes, replication, a region,
// all) -> link names; empty when it names nothing.
std::vector<std::string> links_of_selector(const std::string& selector);

struct ChaosMeshExport {
  std::vector<YAML::Node> objects;
  std::vector<std::string> unsupported;
  int faults = 0;  // inject steps seen
};

// Walks the drill's steps: each inject becomes a window that a later heal (or restart / resume)
// covering it ends, or the drill's end does.
ChaosMeshExport chaos_mesh_export(const Drill& drill, const ChaosMeshPlacement& placement);

// The export as a multi-document YAML stream, starting with a comment naming the drill and every
// unsupported fault; kHeaderOnly: the comment alone (atop a kustomization listing the objects).
enum class ChaosMeshDocuments { kAll, kHeaderOnly };
std::string chaos_mesh_yaml(const Drill& drill, const ChaosMeshExport& exported,
                            ChaosMeshDocuments documents = ChaosMeshDocuments::kAll);

// "a-b_c" -> "a-b-c": lower case, [a-z0-9-], no leading/trailing '-', at most 63 characters.
std::string dns_label(const std::string& text);

}  // namespace drsim::cli

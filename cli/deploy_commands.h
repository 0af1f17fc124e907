// Verbs for running drsim outside `drsim up`: `drsim drill export --chaos-mesh` (a drill's faults
// as Chaos Mesh objects, cli/chaos_mesh.h) and `drsim certs make` (a topology's CA and
// certificates for daemons on other hosts: systemd VMs, Kubernetes Secrets). docs/deploy.md.
#pragma once

#include <string>
#include <vector>

#include "cli/chaos_mesh.h"
#include "cli/drill.h"

namespace drsim::cli {

// Writes the drill's Chaos Mesh objects to stdout (`out` "-") or, one file per object plus a
// kustomization.yaml listing them, into directory `out`. Faults without an equivalent go to
// stderr (and a comment in the output). Exit 0 when at least one object was made (or the drill
// injects nothing), 1 when nothing mapped, 2 for a bad --namespace or an unwritable --out.
int cmd_drill_export_chaos_mesh(const Drill& drill, const std::string& out,
                                const std::vector<std::string>& namespace_flags);

// Parses --namespace values: "NS" (every daemon) or "DAEMON=NS" (primary, secondary,
// trafficmgr); INVALID_ARGUMENT naming the value otherwise.
Result<ChaosMeshPlacement> parse_namespace_flags(const std::vector<std::string>& flags);

// Makes `dir` hold a CA and a certificate per identity (default: every identity of a topology),
// re-using valid ones, as `drsim up` does under <home>/tls; prints what each host needs.
int cmd_certs_make(const std::string& dir, const std::vector<std::string>& identities);

}  // namespace drsim::cli

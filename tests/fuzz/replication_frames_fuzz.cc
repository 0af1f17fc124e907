// A standby region's replication sink fed an arbitrary sequence of frames — hellos claiming an
// epoch, and change batches of any epochs, seqs, workloads and shapes — through the same pure
// rules RegionNode uses (RegionRole::check_peer_claim / admit_source for a hello,
// admit_change_batch for a batch). Asserts on every frame: no change is applied out of order
// (each applied seq is the workload's previous one + 1), none from an epoch older than the
// workload's last applied one or the region's current epoch, no batch older than the current
// epoch admitted, the current epoch never goes backwards, and a hello beyond highest seen + 1
// never admitted.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/model/replication/batch_admission.h"
#include "common/model/replication/region_role.h"
#include "common/model/replication/sink.h"
#include "tests/fuzz/fuzz_check.h"

using namespace drsim;
using namespace drsim::model;

namespace {

constexpr size_t kWorkloads = 2;
const char* const kNames[] = {"vm-web", "vm-db", "vm-unknown"};

// Epochs and seqs near the interesting values (current, ±1, 0, the top of the range) more
// often than anywhere else.
uint64_t near(FuzzedDataProvider& in, uint64_t base) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      return base;
    case 1:
      return base + 1;
    case 2:
      return base == 0 ? 0 : base - 1;
    case 3:
      return base + in.ConsumeIntegralInRange<uint64_t>(0, 4);
    case 4:
      return UINT64_MAX - in.ConsumeIntegralInRange<uint64_t>(0, 2);
    default:
      return in.ConsumeIntegral<uint64_t>();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  RegionRole role("secondary", "primary", Role::kStandby, Epoch(in.ConsumeIntegralInRange(1, 3)),
                  RegionRole::Confirmation::kConfirmed);
  ReplicationSink sinks[kWorkloads];
  // What the sinks must say, kept by this target from the admitted changes alone.
  Seq shadow_seq[kWorkloads] = {Seq(0), Seq(0)};
  Epoch shadow_epoch[kWorkloads] = {Epoch(0), Epoch(0)};

  while (in.remaining_bytes() > 0) {
    if (in.ConsumeBool()) {
      // Hello: the claimed epoch is checked, then admitted (or refused) as sink_hello does.
      Epoch claimed(near(in, role.highest_seen().value()));
      std::string who = in.ConsumeBool() ? "primary" : "secondary";
      Epoch before = role.epoch();
      Epoch highest = role.highest_seen();
      if (!role.check_peer_claim(who, claimed).is_ok()) continue;
      FUZZ_CHECK(claimed <= highest.next());
      if (role.admit_source(who, claimed).is_ok()) {
        FUZZ_CHECK(claimed >= before);  // a stale source is never admitted
      }
      FUZZ_CHECK(role.epoch() >= before);
      continue;
    }
    // A change batch.
    Epoch batch_epoch(near(in, role.epoch().value()));
    size_t n = in.ConsumeIntegralInRange<size_t>(0, 8);
    std::vector<IncomingChange> batch;
    for (size_t i = 0; i < n; ++i) {
      size_t w = in.ConsumeIntegralInRange<size_t>(0, kWorkloads);  // kWorkloads: unknown
      uint64_t applied = w < kWorkloads ? sinks[w].applied().value() : 0;
      batch.push_back({kNames[w], w < kWorkloads ? &sinks[w] : nullptr,
                       Epoch(near(in, batch_epoch.value())), Seq(near(in, applied)),
                       in.ConsumeBool() ? ChangeShape::kWellFormed : ChangeShape::kMalformed});
    }
    Epoch current = role.epoch();
    BatchAdmission a = admit_change_batch(batch_epoch, current, batch);
    FUZZ_CHECK((a.scope == BatchRefusal::kNone) == a.refusal.is_ok());
    if (batch_epoch < current) {
      FUZZ_CHECK(a.scope == BatchRefusal::kWholeBatch && a.apply.empty());
    }
    size_t last = SIZE_MAX;
    for (size_t i : a.apply) {
      FUZZ_CHECK(i < batch.size());
      FUZZ_CHECK(last == SIZE_MAX || i > last);  // in batch order, each once
      last = i;
      const IncomingChange& c = batch[i];
      size_t w = static_cast<size_t>(c.sink - sinks);
      FUZZ_CHECK(c.sink != nullptr && w < kWorkloads);
      FUZZ_CHECK(c.shape == ChangeShape::kWellFormed);
      FUZZ_CHECK(c.seq == shadow_seq[w].next());  // in order, no gap
      FUZZ_CHECK(c.epoch >= shadow_epoch[w]);     // never a stale epoch
      FUZZ_CHECK(c.epoch <= batch_epoch && batch_epoch >= current);
      shadow_seq[w] = c.seq;
      shadow_epoch[w] = c.epoch;
    }
    for (size_t w = 0; w < kWorkloads; ++w) {
      FUZZ_CHECK(sinks[w].applied() == shadow_seq[w]);  // nothing applied behind our back
      FUZZ_CHECK(sinks[w].applied_epoch() == shadow_epoch[w]);
    }
  }
  return 0;
}

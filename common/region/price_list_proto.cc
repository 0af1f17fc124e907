#include "common/region/price_list_proto.h"

namespace drsim::region {

model::PriceList prices_from_proto(const drsim::v1::PriceList& p) {
  return model::PriceList{.currency = p.currency().empty() ? "USD" : p.currency(),
                          .snapshot_per_gib_month = p.snapshot_per_gib_month(),
                          .backup_lrs_per_gib_month = p.backup_lrs_per_gib_month(),
                          .backup_grs_per_gib_month = p.backup_grs_per_gib_month(),
                          .backup_zrs_per_gib_month = p.backup_zrs_per_gib_month(),
                          .image_per_gib_month = p.image_per_gib_month(),
                          .small_instance_per_month = p.small_instance_per_month(),
                          .instance_unit_per_month = p.instance_unit_per_month()};
}

void prices_to_proto(const model::PriceList& p, drsim::v1::PriceList* out) {
  out->set_snapshot_per_gib_month(p.snapshot_per_gib_month);
  out->set_backup_lrs_per_gib_month(p.backup_lrs_per_gib_month);
  out->set_backup_grs_per_gib_month(p.backup_grs_per_gib_month);
  out->set_backup_zrs_per_gib_month(p.backup_zrs_per_gib_month);
  out->set_image_per_gib_month(p.image_per_gib_month);
  out->set_small_instance_per_month(p.small_instance_per_month);
  out->set_instance_unit_per_month(p.instance_unit_per_month);
  out->set_currency(p.currency);
}

}  // namespace drsim::region

#include "dataplane/table_cache.h"

#include <algorithm>
#include <chrono>

namespace palisade::dataplane {

std::string TableBuild::describe() const {
  if (full) {
    return "full table build of " + std::to_string(base_rules) + " rules (" + why_full + ")";
  }
  return "overlay of " + std::to_string(rebase.overlay_rules) + " rules in " +
         std::to_string(rebase.overlay_sets) + " policy sets over a base of " +
         std::to_string(base_rules) + " rules (" + std::to_string(rebase.reused_sets) +
         " sets reused)";
}

void TableCache::reset() {
  index_.reset();
  base_tables_.reset();
}

policy::Result<std::unique_ptr<AclTables>> TableCache::build(policy::CompiledPolicy& policy,
                                                             TableBuild* info) {
  const auto start = std::chrono::steady_clock::now();
  TableBuild done;
  auto finish = [&](std::unique_ptr<AclTables> tables) {
    done.ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (info != nullptr) {
      *info = done;
    }
    return tables;
  };
  done.why_full = "no base yet";
  if (index_) {
    policy::RebaseStats stats;
    std::optional<policy::CompiledPolicy> rebased = index_->rebase(policy, &stats);
    const size_t bound = std::max(options_.min_overlay_rules,
                                  static_cast<size_t>(static_cast<double>(index_->base_rules()) *
                                                      options_.max_overlay_share));
    if (!rebased) {
      done.why_full = "the tiers changed";
    } else if (stats.overlay_rules > bound) {
      done.why_full = std::to_string(stats.overlay_rules) + " rules differ from the base, over " +
                      std::to_string(bound);
    } else {
      auto tables = AclTables::build_over(base_tables_, *rebased, options_.max_size);
      if (tables) {
        policy = std::move(*rebased);
        done.full = false;
        done.rebase = stats;
        done.base_rules = index_->base_rules();
        return finish(std::move(tables).value());
      }
      done.why_full = "the overlay did not build: " + tables.error().message;
    }
  }
  auto tables = AclTables::build(policy, options_.max_size);
  if (!tables) {
    return tables.error();
  }
  index_.emplace(std::make_shared<const policy::CompiledPolicy>(policy));
  base_tables_ = (*tables)->base();
  done.base_rules = index_->base_rules();
  return finish(std::move(tables).value());
}

}  // namespace palisade::dataplane

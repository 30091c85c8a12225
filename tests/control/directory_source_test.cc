// The directory source: a path that does not exist is never an empty policy, and the view
// follows the files (a file removed removes its objects).
#include "control/directory_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace palisade::control {
namespace {

namespace fs = std::filesystem;

TEST(DirectorySource, AMissingPathIsNotSyncedUntilItAppears) {
  const fs::path dir = fs::temp_directory_path() / ("palisade-dir-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  DirectorySource source(dir.string());
  source.refresh();
  EXPECT_FALSE(source.synced());
  EXPECT_FALSE(source.healthy());
  EXPECT_NE(source.state().find("does not exist"), std::string::npos);

  fs::create_directories(dir);
  std::ofstream(dir / "ns.yaml") << "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n";
  PolicySource::Update u = source.refresh();
  EXPECT_TRUE(source.synced());
  EXPECT_TRUE(u.problems.empty());
  EXPECT_EQ(source.store().size(), 1u);

  fs::remove(dir / "ns.yaml");
  source.refresh();
  EXPECT_TRUE(source.synced());  // an empty directory is an empty policy
  EXPECT_EQ(source.store().size(), 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace palisade::control

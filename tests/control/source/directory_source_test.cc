// The directory source: a path that does not exist is never an empty policy, and the view
// follows the files (a file removed removes its objects). Only files whose bytes changed are
// applied again, so that the store's journal names only what an edit changed, with the same
// result (problems reported included) as applying every file again.
#include "control/source/directory_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "policy/store.h"

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

// A fresh directory per test, removed after it.
class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              ("palisade-dir-" + std::to_string(::getpid()) + "-" +
               testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  void write(const std::string& file, const std::string& text) const {
    std::ofstream(path_ / file) << text;
  }
  void remove(const std::string& file) const { fs::remove(path_ / file); }

 private:
  fs::path path_;
};

std::string pod(const std::string& name, const std::string& version) {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name +
         ", namespace: prod, labels: {version: " + version + "}}\n";
}
const std::string kNamespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n";
const std::string kPolicy = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec:
  podSelector: {}
  ingress:
    - from:
        - ipBlock: {cidr: 10.0.0.0/8}
)";
// The same policy with a misspelt field: invalid (files are decoded strictly).
const std::string kBadPolicy = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: prod}
spec:
  podSelector: {}
  ingress:
    - from:
        - ipBlock: {cidr: 10.0.0.0/8, excpet: [10.1.0.0/16]}
)";

policy::ObjectKey pod_key(const std::string& name) { return {"Pod", "prod", name, ""}; }

// The version label of the pod in force, or "" when there is none.
std::string version_of(const policy::ObjectStore& store, const std::string& name) {
  const policy::Object* o = store.find(pod_key(name));
  return o == nullptr ? "" : std::get<policy::Pod>(o->body).labels.at("version");
}

std::vector<policy::ObjectKey> changed_since(const policy::ObjectStore& store, uint64_t v) {
  return store.changed_since(v).value();
}

TEST(DirectorySource, AnEditedFileIsTheOnlyOneAppliedAgain) {
  TempDir dir;
  dir.write("a.yaml", pod("a", "1"));
  dir.write("b.yaml", pod("b", "1"));
  dir.write("ns.yaml", kNamespace);
  dir.write("policy.yaml", kPolicy);
  DirectorySource source(dir.path().string());
  DirectorySource::Reload first = source.reload();
  EXPECT_EQ(first.files, 4u);
  EXPECT_EQ(first.changed, 4u);
  ASSERT_EQ(source.store().size(), 4u);

  const uint64_t v = source.store().version();
  dir.write("b.yaml", pod("b", "2"));
  DirectorySource::Reload r = source.reload();
  EXPECT_EQ(changed_since(source.store(), v), std::vector{pod_key("b")});
  EXPECT_EQ(version_of(source.store(), "b"), "2");
  EXPECT_EQ(r.files, 4u);
  EXPECT_EQ(r.changed, 1u);
  EXPECT_FALSE(r.all_read);
  EXPECT_EQ(r.objects, 4u);
  EXPECT_TRUE(r.problems.empty());
}

TEST(DirectorySource, TheSummarySaysHowManyFilesChanged) {
  TempDir dir;
  dir.write("a.yaml", pod("a", "1"));
  dir.write("b.yaml", pod("b", "1") + "---\n" + pod("c", "1"));
  DirectorySource source(dir.path().string());
  EXPECT_EQ(source.refresh().summary, "2 files (2 changed), 3 objects");
  EXPECT_EQ(source.refresh().summary, "2 files (0 changed), 3 objects");
  dir.write("a.yaml", pod("a", "2"));
  EXPECT_EQ(source.refresh().summary, "2 files (1 changed), 3 objects");
  dir.remove("b.yaml");
  EXPECT_EQ(source.refresh().summary, "1 files (0 changed, 1 removed), 1 objects");
}

TEST(DirectorySource, AnUnchangedDirectoryChangesNothing) {
  TempDir dir;
  dir.write("a.yaml", pod("a", "1"));
  dir.write("ns.yaml", kNamespace);
  DirectorySource source(dir.path().string());
  source.reload();
  const uint64_t v = source.store().version();
  DirectorySource::Reload r = source.reload();
  EXPECT_EQ(source.store().version(), v);
  EXPECT_EQ(r.changed, 0u);
  EXPECT_EQ(r.objects, 2u);
  // A save that writes the same bytes again (what woke the source) changes nothing either.
  dir.write("a.yaml", pod("a", "1"));
  r = source.reload();
  EXPECT_EQ(source.store().version(), v);
  EXPECT_EQ(r.changed, 0u);
}

TEST(DirectorySource, ARefreshSaysWhetherAnythingInForceChanged) {
  TempDir dir;
  dir.write("a.yaml", pod("a", "1"));
  dir.write("policy.yaml", kPolicy);
  DirectorySource source(dir.path().string());
  EXPECT_TRUE(source.refresh().changed);
  EXPECT_FALSE(source.refresh().changed);  // nothing written
  dir.write("a.yaml", pod("a", "1"));
  EXPECT_FALSE(source.refresh().changed);  // the same bytes saved again
  dir.write("a.yaml", pod("a", "2"));
  EXPECT_TRUE(source.refresh().changed);
  // An edit that does not decode keeps the last good version: nothing in force changed,
  // and the problem is reported.
  dir.write("policy.yaml", kBadPolicy);
  PolicySource::Update bad = source.refresh();
  EXPECT_FALSE(bad.changed);
  EXPECT_EQ(bad.problems.size(), 1u);
  dir.remove("a.yaml");
  EXPECT_TRUE(source.refresh().changed);
}

TEST(DirectorySource, ADeletedFileDeletesItsObjectsAndOnlyThose) {
  TempDir dir;
  dir.write("a.yaml", pod("a", "1"));
  dir.write("bc.yaml", pod("b", "1") + "---\n" + pod("c", "1"));
  DirectorySource source(dir.path().string());
  source.reload();
  ASSERT_EQ(source.store().size(), 3u);

  const uint64_t v = source.store().version();
  dir.remove("bc.yaml");
  DirectorySource::Reload r = source.reload();
  EXPECT_EQ(changed_since(source.store(), v), (std::vector{pod_key("b"), pod_key("c")}));
  EXPECT_EQ(source.store().find(pod_key("b")), nullptr);
  EXPECT_EQ(source.store().find(pod_key("c")), nullptr);
  EXPECT_EQ(version_of(source.store(), "a"), "1");
  EXPECT_EQ(r.removed, 1u);
  EXPECT_EQ(r.files, 1u);
}

TEST(DirectorySource, AnObjectRemovedFromAnEditedFileIsDeleted) {
  TempDir dir;
  dir.write("bc.yaml", pod("b", "1") + "---\n" + pod("c", "1"));
  DirectorySource source(dir.path().string());
  source.reload();
  dir.write("bc.yaml", pod("b", "1"));
  source.reload();
  EXPECT_EQ(version_of(source.store(), "b"), "1");
  EXPECT_EQ(source.store().find(pod_key("c")), nullptr);
}

TEST(DirectorySource, AnUnchangedFilesProblemsAreReportedOnEveryReload) {
  TempDir dir;
  dir.write("a.yaml", pod("a", "1"));
  dir.write("bad.yaml", kBadPolicy);
  dir.write("broken.yaml", "kind: [unclosed\n");  // a syntax error: no key to keep it by
  DirectorySource source(dir.path().string());
  const std::vector<std::string> first = source.reload().problems;
  ASSERT_EQ(first.size(), 2u);
  EXPECT_NE(first[0].find("excpet"), std::string::npos) << first[0];
  EXPECT_NE(first[0].find("[rejected; its endpoints are held isolated"), std::string::npos)
      << first[0];
  EXPECT_NE(first[1].find("broken.yaml"), std::string::npos) << first[1];
  // Unchanged, and with another file edited: the same problems, in the same order.
  EXPECT_EQ(source.reload().problems, first);
  dir.write("a.yaml", pod("a", "2"));
  DirectorySource::Reload r = source.reload();
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(r.problems, first);
  EXPECT_EQ(source.store().invalid().size(), 1u);  // the rejected policy is still known
}

TEST(DirectorySource, AKeptLastGoodVersionIsReportedOnEveryReload) {
  TempDir dir;
  dir.write("policy.yaml", kPolicy);
  DirectorySource source(dir.path().string());
  EXPECT_TRUE(source.reload().problems.empty());
  dir.write("policy.yaml", kBadPolicy);
  const std::vector<std::string> kept = source.reload().problems;
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_NE(kept[0].find("last good version kept"), std::string::npos) << kept[0];
  EXPECT_EQ(source.reload().problems, kept);
  EXPECT_EQ(source.store().size(), 1u);  // the good version stays in force
  // Fixed: the problem goes.
  dir.write("policy.yaml", kPolicy);
  EXPECT_TRUE(source.reload().problems.empty());
  EXPECT_TRUE(source.store().invalid().empty());
}

TEST(DirectorySource, AKeyInTwoFilesKeepsTheLaterFilesVersionWhicheverFileIsEdited) {
  TempDir dir;
  dir.write("a.yaml", pod("x", "a1"));
  dir.write("b.yaml", pod("x", "b1"));
  dir.write("c.yaml", pod("c", "1"));
  DirectorySource source(dir.path().string());
  EXPECT_TRUE(source.reload().all_read);
  EXPECT_EQ(version_of(source.store(), "x"), "b1");  // files apply in name order

  dir.write("a.yaml", pod("x", "a2"));  // the earlier file edited: the later one still wins
  EXPECT_TRUE(source.reload().all_read);
  EXPECT_EQ(version_of(source.store(), "x"), "b1");
  dir.write("b.yaml", pod("x", "b2"));
  source.reload();
  EXPECT_EQ(version_of(source.store(), "x"), "b2");
  dir.remove("b.yaml");  // the winner gone: the other file's version comes back in force
  EXPECT_TRUE(source.reload().all_read);
  EXPECT_EQ(version_of(source.store(), "x"), "a2");

  // The sharing over, reloads are incremental again.
  const uint64_t v = source.store().version();
  DirectorySource::Reload r = source.reload();
  EXPECT_FALSE(r.all_read);
  EXPECT_EQ(source.store().version(), v);
  dir.write("c.yaml", pod("c", "2"));
  source.reload();
  EXPECT_EQ(changed_since(source.store(), v), std::vector{pod_key("c")});
  EXPECT_EQ(version_of(source.store(), "x"), "a2");
}

TEST(DirectorySource, AKeyMovingIntoASecondFileKeepsTheLaterFilesVersion) {
  TempDir dir;
  dir.write("b.yaml", pod("x", "b1"));
  DirectorySource source(dir.path().string());
  source.reload();
  dir.write("a.yaml", pod("x", "a1"));  // sorts first, so b.yaml's version stays in force
  source.reload();
  EXPECT_EQ(version_of(source.store(), "x"), "b1");
}

TEST(DirectorySource, AnUnchangedScenarioFileStillNamesItsNode) {
  TempDir dir;
  dir.write("s.yaml", R"(node: node-a
objects:
  - {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: prod}}
flows: []
)");
  dir.write("z.yaml", pod("z", "1"));
  DirectorySource source(dir.path().string());
  DirectorySource::Reload r = source.reload();
  ASSERT_TRUE(r.problems.empty()) << r.problems[0];
  EXPECT_EQ(r.node, "node-a");
  EXPECT_NE(source.store().find(pod_key("a")), nullptr);
  dir.write("z.yaml", pod("z", "2"));
  r = source.reload();
  EXPECT_EQ(r.changed, 1u);
  EXPECT_EQ(r.node, "node-a");
  EXPECT_NE(source.store().find(pod_key("a")), nullptr);
}

}  // namespace
}  // namespace palisade::control

// Writes the benchmarks' synthetic cluster as one multi-document YAML stream:
//   cluster_manifests PODS POLICIES > cluster.yaml
#include <cstdlib>
#include <iostream>

#include "perf/cluster.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: cluster_manifests PODS POLICIES\n";
    return 2;
  }
  for (const std::string& doc :
       palisade::perf::make_cluster_yaml({std::atoi(argv[1]), std::atoi(argv[2])})) {
    std::cout << "---\n" << doc << "\n";
  }
  return 0;
}

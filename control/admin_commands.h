// palisadectl's commands that read a running daemon through its admin API:
//   stats  [--admin HOST:PORT | --config NODE.yaml] [--json]
//   flows  [--admin HOST:PORT | --config NODE.yaml] [--follow] [--duration S]
// and `policies`, which reads a policy source the way the daemon does (a directory of
// manifests, or the Kubernetes API) and prints the objects in force and those rejected:
//   policies [--kubeconfig FILE | FILE|DIR...] [--watch] [--duration S]
#pragma once

#include <string>
#include <vector>

namespace palisade::control {

int stats_command(const std::vector<std::string>& args);
int flows_command(const std::vector<std::string>& args);
int policies_command(const std::vector<std::string>& args);

}  // namespace palisade::control

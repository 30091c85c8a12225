// Core kinds: Namespace, Pod, ServiceAccount, Node. Only the fields policy needs are read;
// these objects carry many more, so unknown fields are never errors here.
#include "policy/decode_kinds.h"

namespace palisade::policy::detail {

namespace {

std::vector<IpAddr> read_pod_ips(const YamlReader& status) {
  std::vector<IpAddr> ips;
  auto add = [&](const YamlReader& r) {
    std::string text = r.str();
    std::optional<IpAddr> ip = IpAddr::parse(text);
    if (!ip) {
      r.fail(text + " is not an IP address");
    }
    if (std::ranges::find(ips, *ip) == ips.end()) {
      ips.push_back(*ip);
    }
  };
  if (auto pod_ips = status.get("podIPs")) {
    for (const YamlReader& item : pod_ips->items()) {
      add(item.at("ip"));
    }
  }
  if (auto pod_ip = status.get("podIP")) {
    add(*pod_ip);
  }
  return ips;
}

std::vector<NamedPort> read_container_ports(const YamlReader& spec) {
  std::vector<NamedPort> out;
  auto read = [&](const YamlReader& containers) {
    for (const YamlReader& c : containers.items()) {
      auto ports = c.get("ports");
      if (!ports) {
        continue;
      }
      for (const YamlReader& p : ports->items()) {
        auto name = p.get("name");
        if (!name) {
          continue;  // only named ports matter to policy
        }
        NamedPort np;
        np.name = name->str();
        np.port = static_cast<uint16_t>(p.at("containerPort").integer(1, 65535));
        if (auto proto = p.get("protocol")) {
          np.protocol = read_protocol(*proto);
        }
        out.push_back(std::move(np));
      }
    }
  };
  if (auto containers = spec.get("containers")) {
    read(*containers);
  }
  if (auto init = spec.get("initContainers")) {
    read(*init);  // sidecars declare ports there too
  }
  return out;
}

}  // namespace

ObjectBody decode_core(const Meta& meta, const YamlReader& doc) {
  if (meta.kind == "Namespace") {
    Namespace ns{meta.name, meta.labels};
    // The API server always sets it to the name, whatever the manifest says.
    ns.labels["kubernetes.io/metadata.name"] = meta.name;
    return ns;
  }
  if (meta.kind == "ServiceAccount") {
    return ServiceAccount{meta.ns, meta.name, meta.labels};
  }
  if (meta.kind == "Node") {
    Node node{meta.name, meta.labels, {}};
    if (auto status = doc.get("status")) {
      if (auto addresses = status->get("addresses")) {
        for (const YamlReader& a : addresses->items()) {
          std::string type = a.get("type") ? a.at("type").str() : "";
          if (type != "InternalIP" && type != "ExternalIP") {
            continue;  // Hostname, InternalDNS: not addresses
          }
          std::string text = a.at("address").str();
          std::optional<IpAddr> ip = IpAddr::parse(text);
          if (!ip) {
            a.at("address").fail(text + " is not an IP address");
          }
          node.addresses.push_back(*ip);
        }
      }
    }
    return node;
  }
  // Pod
  Pod pod;
  pod.ns = meta.ns;
  pod.name = meta.name;
  pod.labels = meta.labels;
  if (auto port = meta.annotations.find("palisade.io/port"); port != meta.annotations.end()) {
    pod.port_annotation = port->second;
  }
  if (auto spec = doc.get("spec")) {
    if (auto node = spec->get("nodeName")) {
      pod.node = node->str();
    }
    if (auto sa = spec->get("serviceAccountName")) {
      pod.service_account = sa->str();
    } else if (auto old_sa = spec->get("serviceAccount")) {
      pod.service_account = old_sa->str();
    }
    if (auto host_network = spec->get("hostNetwork")) {
      pod.host_network = host_network->boolean();
    }
    pod.named_ports = read_container_ports(*spec);
  }
  if (pod.service_account.empty()) {
    pod.service_account = "default";  // as the API server defaults it
  }
  if (auto status = doc.get("status")) {
    pod.ips = read_pod_ips(*status);
    if (auto phase = status->get("phase")) {
      pod.finished = phase->str() == "Succeeded" || phase->str() == "Failed";
    }
  }
  return pod;
}

}  // namespace palisade::policy::detail

// Decoding of Kubernetes, Calico and Cilium objects, from YAML or JSON as the API server
// returns them, into the internal model (policy/model.h).
//
// Every failure is an Error naming the source, the object and the field path. Decoding one
// object never affects another: a stream decodes document by document.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "policy/error.h"
#include "policy/object.h"

namespace palisade::policy {

struct DecodeOptions {
  std::string source;  // file name, or "api"; errors start with it (and the line)
  // Files from disk are strict: an unknown field inside a policy's spec is an error, because a
  // misspelt field (`excpet`) must never widen what is allowed.
  bool strict = true;
  int line_offset = 0;  // lines before the document in its file (multi-document streams)
  // Cilium's CIDR peers also select the cluster's nodes (the agent's policy-cidr-match-mode
  // `nodes`; the node file's policy.cilium_cidr_match_mode). Off: outside addresses only.
  bool cilium_cidr_matches_nodes = false;
};

// The outcome for one document: its key when it could be read (so that a store can keep the
// last good version of that object), and either the object or the error.
struct Decoded {
  Decoded(std::optional<ObjectKey> k, Result<Object> o) : key(std::move(k)), object(std::move(o)) {}

  std::optional<ObjectKey> key;
  Result<Object> object;
  // A policy object that failed: the isolation to hold in its place while no good version
  // of it is in force (each policy's `held` says why), or, when even its selector cannot be
  // read, why it holds nothing (`unheld`). Both empty for other objects.
  std::vector<Policy> held;
  std::string unheld;
};

Decoded decode_document(const YAML::Node& doc, const DecodeOptions& options);

// Every document of a multi-document YAML (or a JSON) stream, in order. Null documents
// (comments only) are skipped; a document with a syntax error is one error, and the
// documents around it still decode.
std::vector<Decoded> decode_stream(std::string_view text, const DecodeOptions& options);

// Reads a file and decodes it; an unreadable file is one Decoded with an Io error.
std::vector<Decoded> decode_file(const std::string& path, const DecodeOptions& options);

}  // namespace palisade::policy

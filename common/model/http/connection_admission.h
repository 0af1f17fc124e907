// Which connection an HTTP server lets in when a new one arrives: the global cap and the cap per
// source address, and which kept-alive idle connection gives up its slot instead of the new one
// being refused. Pure: net::HttpServer hands it a view of its open connections at each accept
// and acts on the answer (close one, refuse, admit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace drsim::model {

enum class HttpConnectionState {
  // Accepted and not yet answered once (TLS handshake, first request header), or reading,
  // handling or answering a request: its header timeout or I/O timeout bounds it.
  kBusy,
  // Answered at least once, kept alive, waiting for its next request: the first to go.
  kIdle,
};

struct HttpConnectionView {
  uint64_t id = 0;
  std::string source;  // the remote IP address, without the port
  HttpConnectionState state = HttpConnectionState::kBusy;
  // When state is kIdle: the order in which connections went idle (smaller = idle longer).
  uint64_t idle_order = 0;
};

struct HttpAdmissionLimits {
  size_t max_connections = 0;
  size_t max_connections_per_source = 0;
};

struct HttpAdmission {
  enum class Kind {
    kAdmit,              // a slot is free
    kAdmitAfterClosing,  // close `close_id` (idle the longest) first, then admit
    kRefuse,             // every slot that counts is busy: close the new connection at once
  };
  Kind kind = Kind::kAdmit;
  uint64_t close_id = 0;  // kAdmitAfterClosing
  std::string why;        // kAdmitAfterClosing and kRefuse: which limit and what it held
};

// The decision for a new connection from `source` given the `open` ones. The per-source cap is
// judged first (a source at its cap gives up its own longest-idle connection, never another
// source's), then the global cap (any source's longest-idle connection).
HttpAdmission admit_http_connection(const std::vector<HttpConnectionView>& open,
                                    const std::string& source, const HttpAdmissionLimits& limits);

}  // namespace drsim::model

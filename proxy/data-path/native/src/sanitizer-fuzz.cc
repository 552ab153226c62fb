// A standalone fuzz driver for the sanitizer build (test/data-path/native-sanitizers.test.ts
// compiles it with -fsanitize=address,undefined; it is not part of the addon).
// 1. The scanner over random streams, fed byte by byte, whole and in random cuts:
//    the three feedings must agree on the final counters and error.
// 2. The engine over socketpairs: random frames both ways while JS-like commands
//    (pings, closes at boundaries, seals, ends, destroys, resets) arrive at random;
//    clean tunnels must deliver every byte unchanged. Exits 0 with no finding.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine.h"
#include "scanner-trace.h"

namespace {

using Bytes = std::vector<uint8_t>;

void AppendFrame(std::mt19937& rng, Bytes& out, int opcode, bool fin, bool masked, size_t length) {
  out.push_back(static_cast<uint8_t>((fin ? 0x80 : 0) | opcode));
  const uint8_t maskBit = masked ? 0x80 : 0;
  if (length < 126) {
    out.push_back(static_cast<uint8_t>(maskBit | length));
  } else if (length <= 0xffff) {
    out.push_back(maskBit | 126);
    out.push_back(static_cast<uint8_t>(length >> 8));
    out.push_back(static_cast<uint8_t>(length));
  } else {
    out.push_back(maskBit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(uint64_t{length} >> shift));
  }
  if (masked) for (int i = 0; i < 4; i++) out.push_back(static_cast<uint8_t>(rng()));
  for (size_t i = 0; i < length; i++) out.push_back(static_cast<uint8_t>(rng()));
}

/** Mostly valid frames; with `garbage`, any byte may be flipped. Returns the frame count. */
int RandomStream(std::mt19937& rng, Bytes& out, bool masked, int frames, bool garbage) {
  bool fragmented = false;
  for (int i = 0; i < frames; i++) {
    const int kind = static_cast<int>(rng() % 10);
    size_t length = rng() % 100 < 90 ? rng() % 60 : 126 + rng() % 3000;
    if (kind < 5) {
      const bool fin = rng() % 3 != 0;
      AppendFrame(rng, out, fragmented ? 0 : 1 + static_cast<int>(rng() % 2), fin, masked, length);
      fragmented = !fin;
    } else if (kind < 9) {
      AppendFrame(rng, out, kind < 7 ? 0x9 : 0xa, true, masked, length % 126);
    } else {
      AppendFrame(rng, out, 0x8, true, masked, 2 + length % 100);
    }
  }
  if (garbage && !out.empty()) {
    for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; flips--) out[rng() % out.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
  }
  return frames;
}

int failures = 0;
void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "CHECK FAILED: %s\n", what);
  failures++;
}

long FuzzScanner(std::mt19937& rng, int streams) {
  long frames = 0;
  for (int s = 0; s < streams; s++) {
    Bytes stream;
    const bool masked = rng() % 2 == 0;
    frames += RandomStream(rng, stream, masked, 2 + static_cast<int>(rng() % 12), rng() % 4 == 0);
    wss::TraceOptions options;
    options.masked = masked;
    options.stopBeforeControl = rng() % 2 == 0;
    options.wantBoundary = static_cast<wss::Boundary>(rng() % 3);
    std::vector<uint32_t> bytes(stream.size()), whole{static_cast<uint32_t>(stream.size())}, cuts;
    for (size_t i = 0; i < stream.size(); i++) bytes[i] = static_cast<uint32_t>(i + 1);
    for (size_t at = 0; at < stream.size();) cuts.push_back(static_cast<uint32_t>(at = std::min(stream.size(), at + 1 + rng() % 300)));
    const std::vector<uint32_t>* feedings[] = {&bytes, &whole, &cuts};
    std::vector<double> lasts[3];
    for (int f = 0; f < 3; f++) {
      std::vector<double> trace = wss::ScanTraceOf(stream.data(), stream.size(), feedings[f]->data(), feedings[f]->size(), options);
      if (trace.size() >= wss::kTraceWidth) lasts[f].assign(trace.end() - wss::kTraceWidth, trace.end());
    }
    // Final messages, bytes and error agree however the stream was cut.
    for (int f = 1; f < 3; f++) {
      if (lasts[0].empty() || lasts[f].empty()) continue;
      Check(lasts[0][4] == lasts[f][4] && lasts[0][5] == lasts[f][5] && lasts[0][7] == lasts[f][7], "scanner counters depend on the cuts");
    }
  }
  return frames;
}

struct Peer {
  int client = -1;  // the test's end of the client socket
  int app = -1;     // the test's end of the upstream socket
  uint32_t id = 0;
  Bytes toApp, toClient;    // what is still to be written by the peers
  size_t toAppAt = 0, toClientAt = 0;
  Bytes sentToApp, gotAtApp;  // for clean tunnels: the app must get exactly what the client sent
  bool clean = true;
  bool finished = false;
};

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void Pump(int fd, Bytes& pending, size_t& at, Bytes* record) {
  if (fd < 0 || at >= pending.size()) return;
  const size_t want = std::min<size_t>(pending.size() - at, 1 + rand() % 5000);
  const ssize_t n = send(fd, pending.data() + at, want, MSG_NOSIGNAL);
  if (n > 0) {
    if (record) record->insert(record->end(), pending.begin() + static_cast<long>(at), pending.begin() + static_cast<long>(at) + n);
    at += static_cast<size_t>(n);
  }
}

void Drain(int& fd, Bytes* into) {
  if (fd < 0) return;
  uint8_t buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      if (into) into->insert(into->end(), buf, buf + n);
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      close(fd);
      fd = -1;
    }
    return;
  }
}

long FuzzEngine(std::mt19937& rng, int tunnels) {
  std::atomic<int> wakes{0};
  wss::Engine engine([&] { wakes++; });
  Check(engine.Start(), "engine start");
  std::vector<Peer> peers(tunnels);
  long frames = 0;
  const uint8_t ping[] = {0x89, 0x00};
  const uint8_t closeToApp[] = {0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe9 ^ 2};
  const uint8_t closeToClient[] = {0x88, 0x02, 0x03, 0xf4};
  for (Peer& p : peers) {
    int clientPair[2], appPair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, clientPair);
    socketpair(AF_UNIX, SOCK_STREAM, 0, appPair);
    for (int fd : {clientPair[0], clientPair[1], appPair[0], appPair[1]}) SetNonBlocking(fd);
    p.client = clientPair[0];
    p.app = appPair[0];
    p.clean = rng() % 3 != 0;
    frames += RandomStream(rng, p.toApp, true, 20 + static_cast<int>(rng() % 200), !p.clean);
    frames += RandomStream(rng, p.toClient, false, 20 + static_cast<int>(rng() % 200), !p.clean);
    p.id = engine.Adopt(clientPair[1], appPair[1], nullptr, 0, nullptr, 0, rng() % 2 == 0);
  }
  for (int round = 0; round < 4000; round++) {
    bool busy = false;
    for (Peer& p : peers) {
      Pump(p.client, p.toApp, p.toAppAt, &p.sentToApp);
      Pump(p.app, p.toClient, p.toClientAt, nullptr);
      // A quarter of the time the client does not read: backpressure builds up.
      if (rng() % 4 != 0) Drain(p.client, nullptr);
      Drain(p.app, &p.gotAtApp);
      busy = busy || p.toAppAt < p.toApp.size() || p.toClientAt < p.toClient.size();
      if (p.clean || p.finished) continue;
      switch (rng() % 400) {
        case 0: engine.WriteAtFrameBoundary(p.id, wss::kToClient, ping, sizeof ping); break;
        case 1: engine.InjectAndSeal(p.id, wss::kToApp, closeToApp, sizeof closeToApp, wss::Boundary::Message); break;
        case 2: engine.InjectBeforeSourceClose(p.id, wss::kToClient, closeToClient, sizeof closeToClient); break;
        case 3: engine.RelaxToFrameBoundary(p.id, static_cast<int>(rng() % 2)); break;
        case 4: engine.SealAtFrameBoundary(p.id, wss::kToClient, closeToClient, sizeof closeToClient); break;
        case 5: engine.WriteAndSeal(p.id, wss::kToApp, closeToApp, sizeof closeToApp); break;
        case 6: engine.End(p.id, static_cast<int>(rng() % 2)); break;
        case 7: engine.Destroy(p.id, static_cast<int>(rng() % 2), rng() % 2 == 0); break;
        case 8: close(p.client); p.client = -1; break;
        case 9: engine.TakeActive(p.id, true); engine.DirectionState(p.id, 0); engine.SideState(p.id, 1); break;
        default: break;
      }
    }
    for (const wss::Event& e : engine.TakeEvents()) {
      if (e.kind != wss::EventKind::Finished) continue;
      for (Peer& p : peers) if (p.id == e.tunnel) p.finished = true;
    }
    wss::Counters counters;
    for (Peer& p : peers) engine.ReadCounters(p.id, &counters);
    engine.QueuedBytes();
    if (!busy && round > 200) break;
    poll(nullptr, 0, 1);
  }
  // Let the last bytes through, then check the clean tunnels delivered everything unchanged.
  for (int settle = 0; settle < 200; settle++) {
    for (Peer& p : peers) {
      Drain(p.client, nullptr);
      Drain(p.app, &p.gotAtApp);
    }
    poll(nullptr, 0, 2);
  }
  for (Peer& p : peers) {
    if (p.clean) Check(p.gotAtApp == p.sentToApp, "a clean tunnel changed or lost bytes on their way to the app");
  }
  engine.Stop();
  for (Peer& p : peers) {
    if (p.client >= 0) close(p.client);
    if (p.app >= 0) close(p.app);
  }
  return frames;
}

}  // namespace

int main(int argc, char** argv) {
  const int streams = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int tunnels = argc > 2 ? std::atoi(argv[2]) : 64;
  std::mt19937 rng(17);
  const long scanned = FuzzScanner(rng, streams);
  const long pumped = FuzzEngine(rng, tunnels);
  std::printf("sanitizer fuzz: %ld frames scanned, %ld frames pumped through %d tunnels, %d failed checks\n", scanned, pumped, tunnels, failures);
  return failures == 0 ? 0 : 1;
}

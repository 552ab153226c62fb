// A scanner driven over a stream cut into chunks, recording every stop: the
// same driver as test/data-path/scanner-trace.ts runs on frame-scanner.ts, so
// the two traces can be compared number for number.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "frame-scanner.h"

namespace wss {

struct TraceOptions {
  bool masked = true;
  bool stopBeforeControl = false;
  Boundary wantBoundary = Boundary::None;
};

/** Values per stop: event, absolute offset, lastOpcode, closeCode, messages, payloadBytes, boundaries, error, errorDetail. */
constexpr int kTraceWidth = 9;

/**
 * `chunkEnds` are the ascending ends of the chunks (the last one is the stream's length).
 * Each chunk is scanned from its start to its end, stop by stop, as the pump does; a
 * wanted boundary, once reached, is asked for again (the pump would inject there).
 */
std::vector<double> ScanTraceOf(const uint8_t* stream, size_t length, const uint32_t* chunkEnds, size_t chunks, const TraceOptions& options);

}  // namespace wss

#include "scanner-trace.h"

namespace wss {

std::vector<double> ScanTraceOf(const uint8_t* stream, size_t length, const uint32_t* chunkEnds, size_t chunks, const TraceOptions& options) {
  FrameScanner scanner(options.masked);
  scanner.stopBeforeControl = options.stopBeforeControl;
  scanner.wantBoundary = options.wantBoundary;
  std::vector<double> trace;
  size_t start = 0;
  for (size_t c = 0; c < chunks; c++) {
    const size_t end = chunkEnds[c] < length ? chunkEnds[c] : length;
    if (end <= start) continue;
    const uint8_t* chunk = stream + start;
    const size_t size = end - start;
    size_t pos = 0;
    for (;;) {
      const size_t stop = scanner.Scan(chunk, size, pos);
      const double boundaries = (scanner.AtFrameBoundary() ? 1 : 0) + (scanner.AtMessageBoundary() ? 2 : 0) + (scanner.errorAtFrameStart ? 4 : 0);
      const double row[kTraceWidth] = {
          static_cast<double>(scanner.event), static_cast<double>(start + stop), static_cast<double>(scanner.lastOpcode),
          static_cast<double>(scanner.closeCode), static_cast<double>(scanner.messages), static_cast<double>(scanner.payloadBytes),
          boundaries, static_cast<double>(scanner.error), static_cast<double>(scanner.errorDetail),
      };
      trace.insert(trace.end(), row, row + kTraceWidth);
      if (scanner.event == ScanEvent::None || scanner.event == ScanEvent::Error) break;
      pos = stop;
    }
    start = end;
  }
  return trace;
}

}  // namespace wss

#pragma once
// Time and waiting for the benchmark drivers: a monotonic clock that every process on the machine shares
// (CLOCK_MONOTONIC, so stamps from a child process compare with arrival times here) and a wait that runs the
// event loop until a condition holds. The drivers are sequential scripts; the waits are not in any server.

#include <QtGlobal>

#include <functional>

namespace cr::bench {

// Nanoseconds of CLOCK_MONOTONIC (the same clock in every process).
qint64 monotonicNs();

// Runs the event loop until done() is true (checked after every batch of events and at least every 20 ms)
// or timeoutMs passes. Returns done().
bool waitUntil(const std::function<bool()> &done, int timeoutMs);

// Runs the event loop for ms milliseconds (settling between phases; never inside a measurement).
void runFor(int ms);

// Keeps freed memory in the process (glibc mallopt: no mmap below 4 MiB, no trimming below 256 MiB). Qt
// allocates a fresh buffer for every large socket write or message; by default glibc returns those pages to
// the kernel and faults them in again (zeroed) on the next frame, which costs more CPU than the copy itself.
// Used by the benchmark's own processes (clients and simulator) so that they are not the bottleneck.
void keepFreedMemory();

} // namespace cr::bench

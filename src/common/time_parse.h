// Parsing the timestamps AWS sends, into milliseconds since the Unix epoch (UTC).
// One implementation for the whole tree: credential expirations, x-amz-date,
// HTTP Date headers.
//
// Pure functions, thread-safe. They return false (and leave *epoch_ms alone) on
// anything malformed; callers turn that into their own one-line error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parallelagram {

// Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1-12, d 1-31).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

// ISO 8601 in the forms AWS uses:
//   extended "2026-11-25T21:00:00Z", with optional fractional seconds
//   ("...:00.123Z") and a "Z" or "+hh:mm"/"-hh:mm" offset (no suffix means UTC;
//   't' or ' ' may separate date and time);
//   basic "20261125T210000Z" (x-amz-date), exactly 16 characters.
bool ParseIso8601(std::string_view text, int64_t* epoch_ms);

// An HTTP-date (RFC 7231 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"), or any
// form ParseIso8601 accepts (some AWS answers carry those in Date-like fields).
bool ParseHttpDate(std::string_view text, int64_t* epoch_ms);

// The IMF-fixdate of `epoch_ms` (seconds, truncated), as servers send in Date headers:
// "Sun, 06 Nov 1994 08:49:37 GMT". Locale-independent.
std::string FormatHttpDate(int64_t epoch_ms);

}  // namespace parallelagram

#include "common/time_parse.h"

#include <cstdio>

#include <string>

namespace parallelagram {
namespace {

// Reads exactly `len` digits at `pos`.
bool Digits(std::string_view s, size_t pos, size_t len, int* v) {
  if (pos + len > s.size()) return false;
  *v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    *v = *v * 10 + (s[i] - '0');
  }
  return true;
}

bool ToEpochMs(int y, int mo, int d, int h, int mi, int s, int64_t ms, int64_t offset_s,
               int64_t* epoch_ms) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  *epoch_ms = (((days * 24 + h) * 60 + mi) * 60 + s - offset_s) * 1000 + ms;
  return true;
}

bool ParseBasic(std::string_view t, int64_t* epoch_ms) {
  int y, mo, d, h, mi, s;
  if (t.size() != 16 || t[8] != 'T' || t[15] != 'Z' || !Digits(t, 0, 4, &y) ||
      !Digits(t, 4, 2, &mo) || !Digits(t, 6, 2, &d) || !Digits(t, 9, 2, &h) ||
      !Digits(t, 11, 2, &mi) || !Digits(t, 13, 2, &s)) {
    return false;
  }
  return ToEpochMs(y, mo, d, h, mi, s, 0, 0, epoch_ms);
}

bool ParseExtended(std::string_view t, int64_t* epoch_ms) {
  int y, mo, d, h, mi, s;
  if (t.size() < 19 || !Digits(t, 0, 4, &y) || t[4] != '-' || !Digits(t, 5, 2, &mo) ||
      t[7] != '-' || !Digits(t, 8, 2, &d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') ||
      !Digits(t, 11, 2, &h) || t[13] != ':' || !Digits(t, 14, 2, &mi) || t[16] != ':' ||
      !Digits(t, 17, 2, &s)) {
    return false;
  }
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      if (digits < 3) ms = ms * 10 + (t[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return false;
    for (int i = digits; i < 3; ++i) ms *= 10;
  }
  std::string_view rest = t.substr(pos);
  int64_t offset_s = 0;
  if (rest.empty() || rest == "Z" || rest == "z") {
    offset_s = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh, om;
    if (!Digits(rest, 1, 2, &oh) || !Digits(rest, 4, 2, &om) || oh > 23 || om > 59) return false;
    offset_s = (oh * 3600 + om * 60) * (rest[0] == '+' ? 1 : -1);
  } else {
    return false;
  }
  return ToEpochMs(y, mo, d, h, mi, s, ms, offset_s, epoch_ms);
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ParseIso8601(std::string_view text, int64_t* epoch_ms) {
  if (text.size() == 16 && text[8] == 'T') return ParseBasic(text, epoch_ms);
  return ParseExtended(text, epoch_ms);
}

bool ParseHttpDate(std::string_view t, int64_t* epoch_ms) {
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int d, y, h, mi, s;
  if (t.size() == 29 && t[3] == ',' && t[4] == ' ' && Digits(t, 5, 2, &d) && t[7] == ' ' &&
      t[11] == ' ' && Digits(t, 12, 4, &y) && t[16] == ' ' && Digits(t, 17, 2, &h) &&
      t[19] == ':' && Digits(t, 20, 2, &mi) && t[22] == ':' && Digits(t, 23, 2, &s) &&
      t.substr(25) == " GMT") {
    std::string_view mon = t.substr(8, 3);
    for (int i = 0; i < 12; ++i) {
      if (mon == kMonths[i]) return ToEpochMs(y, i + 1, d, h, mi, s, 0, 0, epoch_ms);
    }
    return false;
  }
  return ParseIso8601(t, epoch_ms);
}

std::string FormatHttpDate(int64_t epoch_ms) {
  static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int64_t secs = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  // Civil from days (Howard Hinnant's algorithm, the inverse of DaysFromCivil).
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  int64_t wd = ((days % 7) + 7) % 7;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[wd],
                static_cast<int>(d), kMonths[m - 1], static_cast<int>(y),
                static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                static_cast<int>(rem % 60));
  return buf;
}

}  // namespace parallelagram

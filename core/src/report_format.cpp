// Number formatting for the report.

#include "report_format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace parrot {

std::string shortest(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  int digits = 1;
  char text[32];
  for (; digits < 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  // %g turns 1000 at one digit into "1e+03": keep every digit of the integer part.
  const int integer_digits =
      std::abs(value) >= 1 ? static_cast<int>(std::log10(std::abs(value))) + 1 : 0;
  if (integer_digits <= 17) digits = std::max(digits, integer_digits);
  std::snprintf(text, sizeof text, "%.*g", digits, value);
  return text;
}

std::string readable(double value) {
  if (std::isinf(value) && value > 0) return "never";
  char text[32];
  if (std::abs(value) >= 100 && std::isfinite(value))
    std::snprintf(text, sizeof text, "%.0f", value);
  else
    std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

std::string fixed(double value, int decimals) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string compact_count(double count) {
  char text[32];
  if (std::abs(count) < 1000) {
    std::snprintf(text, sizeof text, "%.0f", count);
  } else if (std::abs(count) < 999500) {
    std::snprintf(text, sizeof text, "%.3gk", count / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.3gM", count / 1e6);
  }
  return text;
}

std::string percent(double share) { return shortest(std::round(share * 1e6) / 1e4) + "%"; }

std::string xml_escape(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&apos;";
        break;
      default:
        const bool forbidden =
            static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r';
        escaped += forbidden ? '?' : c;
    }
  }
  return escaped;
}

}  // namespace parrot

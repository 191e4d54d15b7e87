// Numbers and text as the report writes them: numbers exact for files that machines read back
// (CSV, JSON), short for people (Markdown, verdicts); text escaped for XML and HTML. Shared by
// every report writer and by expectation verdicts.
#pragma once

#include <string>

namespace parrot {

// The shortest text that reads back as the same double: 0.1 -> "0.1", 2.0 -> "2".
std::string shortest(double value);

// For sentences: whole numbers of 100 and more in full, others to 4 significant digits;
// infinity as "never" (what an unreached examples_to means).
std::string readable(double value);

// A fixed number of decimals: fixed(0.931, 2) -> "0.93".
std::string fixed(double value, int decimals);

// Counts of examples or parameters: 950, 51.3k, 104k, 1.2M.
std::string compact_count(double count);

// A share as a percentage: 0.9 -> "90%", 0.995 -> "99.5%".
std::string percent(double share);

// Text for XML and HTML content and attribute values: & < > " ' escaped, characters XML 1.0
// forbids (control characters other than tab and line breaks) replaced by '?'.
std::string xml_escape(const std::string& text);

}  // namespace parrot

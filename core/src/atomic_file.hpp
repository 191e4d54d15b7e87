// Files that exist whole or not at all: written to a temp file next to the target, flushed to
// disk, then renamed over it. A crash at any moment leaves the old file or the new one.
#pragma once

#include <filesystem>
#include <string>

namespace parrot {

// The temp file is `<file>.tmp.<pid>`, so a reader can tell debris of a dead writer.
void write_file_atomically(const std::filesystem::path& file, const std::string& bytes);

// Removes `<name>.tmp.<pid>` files in `folder` whose writer process no longer exists.
void remove_dead_temp_files(const std::filesystem::path& folder);

}  // namespace parrot

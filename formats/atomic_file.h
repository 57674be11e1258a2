#pragma once
// Writing a file so that no reader, and no later run after a crash, ever sees part of it under its
// final name: the bytes go to `<path>.tmp` in the same folder, which is then renamed over `path`
// (atomic within one file system). A temporary left behind by a killed process is never read.
#include <string>

namespace mtmap::formats {

// Creates the parent folder if needed. Throws mtmap::Error naming the file (and removes the
// temporary) when it cannot be written or moved.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace mtmap::formats

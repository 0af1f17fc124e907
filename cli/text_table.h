// TextTable: the tables of drsim's text output (items, points, jobs, backup list, vm list,
// snapshot list, cost). Every column is as wide as its widest cell, header included, so a long
// name widens its column instead of pushing the rest of its row out of line (exact values stay
// in --json).
#pragma once

#include <string>
#include <vector>

namespace drsim::cli {

class TextTable {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;  // "" = a column without a header (the row's first word, a unit...)
    Align align = Align::kLeft;
  };

  // `indent` starts every line; columns are two spaces apart unless `gap` says otherwise.
  explicit TextTable(std::vector<Column> columns, std::string indent = "", size_t gap = 2);

  // One row; missing cells are empty, extra cells are dropped.
  void add_row(std::vector<std::string> cells);

  // The header line (when any column has a header), then the rows, each ending in "\n"; a
  // left-aligned last column is not padded.
  std::string render() const;
  void print() const;  // render() on stdout

 private:
  std::vector<Column> columns_;
  std::string indent_;
  size_t gap_;
  std::vector<std::vector<std::string>> rows_;
};

// Characters, not bytes, of UTF-8 text (for "→" and the like).
size_t display_width(const std::string& text);

}  // namespace drsim::cli

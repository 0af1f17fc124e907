#include "cli/text_table.h"

#include <algorithm>
#include <cstdio>
#include <utility>

namespace drsim::cli {

size_t display_width(const std::string& text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;  // not a continuation byte
  }
  return n;
}

TextTable::TextTable(std::vector<Column> columns, std::string indent, size_t gap)
    : columns_(std::move(columns)), indent_(std::move(indent)), gap_(gap) {}

void TextTable::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string TextTable::render() const {
  std::vector<size_t> widths(columns_.size(), 0);
  const bool headed = std::any_of(columns_.begin(), columns_.end(),
                                  [](const Column& c) { return !c.header.empty(); });
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (headed) widths[i] = display_width(columns_[i].header);
    for (const auto& row : rows_) widths[i] = std::max(widths[i], display_width(row[i]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = indent_;
    for (size_t i = 0; i < cells.size(); ++i) {
      const size_t pad = widths[i] - display_width(cells[i]);
      const bool last = i + 1 == cells.size();
      if (columns_[i].align == Align::kRight) {
        out += std::string(pad, ' ') + cells[i];
      } else {
        out += cells[i];
        if (!last) out += std::string(pad, ' ');
      }
      if (!last) out += std::string(gap_, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out;
  if (headed) {
    std::vector<std::string> header;
    for (const auto& c : columns_) header.push_back(c.header);
    out += line(header);
  }
  for (const auto& row : rows_) out += line(row);
  return out;
}

void TextTable::print() const { std::fputs(render().c_str(), stdout); }

}  // namespace drsim::cli

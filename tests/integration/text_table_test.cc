// TextTable (cli/text_table.h): the text output's tables widen a column to its widest cell, so
// long names never push a row out of line.
#include "cli/text_table.h"
#include "cli/units.h"

#include <string>

#include <gtest/gtest.h>

namespace drsim::cli {
namespace {

using A = TextTable::Align;

TEST(TextTable, ColumnsAreAsWideAsTheirWidestCellHeaderIncluded) {
  TextTable t({{"ITEM"}, {"POINTS", A::kRight}, {"WHY"}});
  t.add_row({"vm-a", "3", "ok"});
  t.add_row({"vm-with-a-long-name", "12", "replication lag over the threshold"});
  EXPECT_EQ(t.render(),
            "ITEM                 POINTS  WHY\n"
            "vm-a                      3  ok\n"
            "vm-with-a-long-name      12  replication lag over the threshold\n");
}

TEST(TextTable, IndentGapMissingCellsAndUtf8WidthsKeepTheColumnsInLine) {
  TextTable t({{}, {}, {}}, "  ", 1);
  t.add_row({"route \u2192 secondary", "x"});  // the arrow is one character, three bytes
  t.add_row({"a", "bb", "c", "dropped"});
  EXPECT_EQ(t.render(),
            "  route \u2192 secondary x\n"
            "  a" + std::string(17, ' ') + "bb c\n");
  EXPECT_EQ(display_width("\u2192\u00b7ab"), 4u);
}

TEST(HumanAmount, TwoDecimalsAndLessThanACentSaysSo) {
  EXPECT_EQ(human_amount(0), "0.00");
  EXPECT_EQ(human_amount(5.78712e-08), "<0.01");
  EXPECT_EQ(human_amount(0.004999), "<0.01");
  EXPECT_EQ(human_amount(0.005), "0.01");
  EXPECT_EQ(human_amount(0.617376), "0.62");
  EXPECT_EQ(human_amount(1234.5), "1234.50");
}

}  // namespace
}  // namespace drsim::cli

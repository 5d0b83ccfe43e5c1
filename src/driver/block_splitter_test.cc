#include "driver/block_splitter.h"

#include <gtest/gtest.h>

#include <cstring>

namespace parallelagram::driver {
namespace {

// Splits `input`, read `chunk` bytes at a time; the blocks with their header.
std::vector<std::string> Split(const BlockRules& r, const std::string& input, size_t chunk = 7,
                               std::vector<std::string>* warnings = nullptr) {
  auto s = BlockSplitter::Make(r);
  EXPECT_TRUE(s.ok()) << s.status().message();
  size_t at = 0;
  std::vector<std::string> out;
  Status st = (*s)->Run(
      [&](char* buf, size_t n) -> int64_t {
        size_t k = std::min({n, chunk, input.size() - at});
        std::memcpy(buf, input.data() + at, k);
        at += k;
        return static_cast<int64_t>(k);
      },
      [&](std::string_view header, std::string_view body) {
        out.push_back(std::string(header) + std::string(body));
        return Status::Ok();
      },
      [&](const std::string& w) {
        if (warnings) warnings->push_back(w);
      });
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

std::string Seq(int n) {
  std::string s;
  for (int i = 1; i <= n; ++i) s += std::to_string(i) + "\n";
  return s;
}

// The expected blocks below are what GNU parallel 20221122 gives for the same input, e.g.
// `seq 10 | parallel --pipe -N3 -k 'cat | tr "\n" ,; echo'`.
TEST(BlockSplitterTest, RecordsPerBlockAsGnuParallel) {
  BlockRules r;
  r.records = 3;
  EXPECT_EQ(Split(r, Seq(10)), (std::vector<std::string>{"1\n2\n3\n", "4\n5\n6\n", "7\n8\n9\n",
                                                        "10\n"}));
  r.records = 2;
  r.header = ":";
  EXPECT_EQ(Split(r, "h\n1\n2\n3\n4\n"), (std::vector<std::string>{"h\n1\n2\n", "h\n3\n4\n"}));
}

TEST(BlockSplitterTest, BySizeCutsAtTheLastRecordEndAndGrowsForLongRecords) {
  BlockRules r;
  r.block_size = 3;
  EXPECT_EQ(Split(r, "a\n1\n2\n3\n4\n"),
            (std::vector<std::string>{"a\n", "1\n", "2\n", "3\n", "4\n"}));
  // A record longer than the block: the block grows (with GNU parallel's warning), and the
  // blocks still end at record ends and add up to the input.
  std::vector<std::string> warnings;
  const std::string input = "abcdefghij\nx\nyz\n";
  r.block_size = 2;
  auto blocks = Split(r, input, 3, &warnings);
  std::string joined;
  for (const auto& b : blocks) {
    EXPECT_EQ(b.back(), '\n') << b;
    joined += b;
  }
  EXPECT_EQ(joined, input);
  ASSERT_FALSE(warnings.empty());
  EXPECT_EQ(warnings[0], "A record was longer than 2. Increasing to --blocksize 4.");
}

TEST(BlockSplitterTest, ReadSizesDoNotChangeTheBlocks) {
  BlockRules r;
  r.block_size = 100;
  const std::string input = Seq(1000);
  auto a = Split(r, input, 1);
  EXPECT_EQ(a, Split(r, input, 4096));
  EXPECT_EQ(a, Split(r, input, 33));
  std::string joined;
  for (const auto& b : a) {
    EXPECT_LE(b.size(), 100u);
    joined += b;
  }
  EXPECT_EQ(joined, input);
}

TEST(BlockSplitterTest, LinesPerRecordAndRecstart) {
  BlockRules r;
  r.lines = 4;  // -L 4: four-line records (FASTQ)
  r.block_size = 30;
  std::string fq;
  for (int i = 0; i < 6; ++i) fq += "@r" + std::to_string(i) + "\nACGT\n+\nIIII\n";
  for (const auto& b : Split(r, fq)) {
    EXPECT_EQ(std::count(b.begin(), b.end(), '\n') % 4, 0) << b;
    EXPECT_EQ(b[0], '@');
  }
  BlockRules s;
  s.recstart = "@";
  s.recstart_set = true;  // recend "" then: a split just before each '@'
  s.records = 2;
  auto blocks = Split(s, fq);
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0], fq.substr(0, fq.size() / 3));
}

TEST(BlockSplitterTest, RegexpSeparatorsAndEscapes) {
  BlockRules r;
  r.recend = "\\n";
  r.recend_set = true;
  auto s = BlockSplitter::Make(r);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->recend(), "\n");
  BlockRules x;
  x.regexp = true;
  x.recstart = "[0-9]+:";
  x.recstart_set = true;
  x.records = 1;
  EXPECT_EQ(Split(x, "1:a\n2:b\n33:c\n"),
            (std::vector<std::string>{"1:a\n", "2:b\n", "33:c\n"}));
  x.recstart = "(";
  auto bad = BlockSplitter::Make(x);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--recstart/--recend with --regexp '(?:"),
            std::string::npos)
      << bad.status().message();
}

TEST(BlockSplitterTest, PartPositionsReadOnlyAroundSplitPoints) {
  BlockRules r;
  r.block_size = 4;
  r.header = "1";
  auto s = BlockSplitter::Make(r);
  ASSERT_TRUE(s.ok());
  const std::string file = "hd\naa\nbb\ncc\ndd\n";
  int64_t read_bytes = 0;
  std::string header;
  auto pos = (*s)->SplitPositions(
      static_cast<int64_t>(file.size()),
      [&](int64_t off, size_t n) -> Result<std::string> {
        std::string part = off < static_cast<int64_t>(file.size())
                               ? file.substr(static_cast<size_t>(off), n)
                               : std::string();
        read_bytes += static_cast<int64_t>(part.size());
        return part;
      },
      &header);
  ASSERT_TRUE(pos.ok()) << pos.status().message();
  EXPECT_EQ(header, "hd\n");
  // 3 + 4 = 7 is inside "bb\n": the split goes after its newline (9), then 13 -> 15 (the end).
  EXPECT_EQ(*pos, (std::vector<int64_t>{3, 9, 15}));
}

TEST(BlockSplitterTest, SizesAsGnuParallelWritesThem) {
  EXPECT_EQ(*ParseSize("1M", "--block", 1), 1048576);
  EXPECT_EQ(*ParseSize("10k", "--block", 1), 10000);
  EXPECT_EQ(*ParseSize("1.5K", "--block", 1), 1536);
  EXPECT_EQ(*ParseSize("2Ki", "--block", 1), 2048);
  EXPECT_EQ(*ParseSize("-2", "--block", INT64_MIN), -2);
  EXPECT_FALSE(ParseSize("0", "--block", 1).ok());
  auto bad = ParseSize("ten", "--block", 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("--block 'ten' is not a size", 0), 0u);
}

}  // namespace
}  // namespace parallelagram::driver

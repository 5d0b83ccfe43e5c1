#include "aws/s3_xml.h"

#include <gtest/gtest.h>

#include "aws/multipart_plan.h"
#include "aws/sigv4.h"

namespace parallelagram::aws {
namespace {

TEST(S3Xml, EncodesKeysOnceKeepingSlashes) {
  EXPECT_EQ(UriEncode("a b/c+d=e%f~g", true), "a%20b/c%2Bd%3De%25f~g");
  EXPECT_EQ(UriEncode("dir//./x", true), "dir//./x");
  EXPECT_EQ(UriEncode("\xc3\xa9t\xc3\xa9", true), "%C3%A9t%C3%A9");
  EXPECT_EQ(UriEncode("a/b c", false), "a%2Fb%20c");
  EXPECT_EQ(S3DecodeUrlForm("a+b%2Bc%20d%C3%A9"), "a b+c d\xc3\xa9");
  EXPECT_EQ(S3DecodeUrlForm("100%"), "100%");
}

TEST(S3Xml, BucketNames) {
  EXPECT_TRUE(IsValidBucketName("my-bucket.1"));
  EXPECT_FALSE(IsValidBucketName("ab"));
  EXPECT_FALSE(IsValidBucketName("My-Bucket"));
  EXPECT_FALSE(IsValidBucketName("a..b"));
  EXPECT_FALSE(IsValidBucketName("-ab"));
  EXPECT_FALSE(IsValidBucketName("192.168.1.1"));
  EXPECT_TRUE(IsVirtualHostable("plain-bucket"));
  EXPECT_FALSE(IsVirtualHostable("dotted.bucket"));
}

TEST(S3Xml, ContentMd5MatchesRfc1321Vector) {
  // MD5("abc") = 900150983cd24fb0d6963f7d28e17f72
  EXPECT_EQ(ContentMd5("abc"), "kAFQmDzST7DWlj99KOF/cg==");
}

// The example answer from the S3 API reference, with encoding-type=url added.
TEST(S3Xml, ParsesListObjectsV2) {
  const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix/><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <EncodingType>url</EncodingType>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>happy+face%2B%C3%A9.jpg</Key><LastModified>2014-11-21T19:40:05.000Z</LastModified>
    <ETag>&quot;70ee1738b6b21e2c8a43f3a5ab0eee71&quot;</ETag><Size>11</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>b</Key><Size>5000000000000</Size></Contents>
  <CommonPrefixes><Prefix>dir%20x/</Prefix></CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";
  auto page = ParseListObjectsV2(xml);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "happy face+\xc3\xa9.jpg");
  EXPECT_EQ(page->objects[0].etag, "\"70ee1738b6b21e2c8a43f3a5ab0eee71\"");
  EXPECT_EQ(page->objects[0].size, 11);
  EXPECT_EQ(page->objects[1].size, 5000000000000LL);
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"dir x/"});
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3Xml, ListWithoutEncodingKeepsKeysRaw) {
  auto page = ParseListObjectsV2(
      "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a+b%20</Key>"
      "</Contents></ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects[0].key, "a+b%20");
  EXPECT_FALSE(page->is_truncated);
}

TEST(S3Xml, RejectsBadListAnswers) {
  EXPECT_EQ(ParseListObjectsV2("not xml <").status().code(), StatusCode::kProtocolError);
  EXPECT_EQ(ParseListObjectsV2("<Other/>").status().code(), StatusCode::kProtocolError);
  EXPECT_EQ(
      ParseListObjectsV2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")
          .status()
          .code(),
      StatusCode::kProtocolError);
}

TEST(S3Xml, BuildsDeleteWithEscapedKeys) {
  std::string xml = BuildDeleteObjectsXml({"a&b", "<c>"}, true);
  EXPECT_EQ(xml,
            "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>a&amp;b</Key>"
            "</Object><Object><Key>&lt;c&gt;</Key></Object><Quiet>true</Quiet></Delete>");
}

TEST(S3Xml, ParsesDeleteResult) {
  auto r = ParseDeleteObjectsResult(
      "<DeleteResult><Deleted><Key>x</Key></Deleted><Error><Key>y</Key><Code>AccessDenied</Code>"
      "<Message>Access Denied</Message></Error></DeleteResult>");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted, std::vector<std::string>{"x"});
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].code, "AccessDenied");
}

TEST(S3Xml, MultipartDocuments) {
  auto id = ParseCreateMultipartUpload(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</"
      "UploadId>"
      "</InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "VXBsb2FkIElE");
  EXPECT_EQ(BuildCompleteMultipartUploadXml({{1, "\"e1\""}, {2, "\"e2\""}}),
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part>"
            "<PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part><Part><PartNumber>2</PartNumber>"
            "<ETag>\"e2\"</ETag></Part></CompleteMultipartUpload>");
  auto etag = ParseCompleteMultipartUpload(
      "<CompleteMultipartUploadResult><ETag>\"abc-2\"</ETag></CompleteMultipartUploadResult>");
  ASSERT_TRUE(etag.ok());
  EXPECT_EQ(*etag, "\"abc-2\"");
  // S3 can fail a completion with HTTP 200 and an <Error> body.
  auto err = ParseCompleteMultipartUpload(
      "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message>"
      "<RequestId>656c76696e6727732072657175657374</RequestId></Error>");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(err.status().message().find("InternalError"), std::string::npos);
  EXPECT_NE(err.status().message().find("656c76696e6727732072657175657374"), std::string::npos);
}

TEST(S3Xml, CreateBucketConfiguration) {
  EXPECT_EQ(BuildCreateBucketConfiguration("us-east-1"), "");
  EXPECT_EQ(BuildCreateBucketConfiguration("eu-west-1"),
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>");
}

TEST(MultipartPlan, PartsCoverTheObjectWithinS3Limits) {
  for (int64_t size : {int64_t{0}, int64_t{1}, 5 * kMiB, 5 * kMiB + 1, 50 * kMiB + 3,
                       int64_t{100} * 1024 * kMiB, kS3MaxObjectSize}) {
    auto parts = PlanParts(size, 5 * kMiB);
    ASSERT_TRUE(parts.ok()) << size;
    ASSERT_LE(static_cast<int64_t>(parts->size()), kS3MaxParts) << size;
    int64_t off = 0;
    for (size_t i = 0; i < parts->size(); ++i) {
      const PartRange& p = (*parts)[i];
      EXPECT_EQ(p.part_number, static_cast<int>(i + 1));
      EXPECT_EQ(p.offset, off);
      EXPECT_LE(p.length, kS3MaxPartSize);
      if (i + 1 < parts->size()) {
        EXPECT_GE(p.length, kS3MinPartSize);
      }
      off += p.length;
    }
    EXPECT_EQ(off, size);
  }
  EXPECT_EQ(PlanParts(50 * kMiB + 3, 8 * kMiB)->size(), 7u);
  EXPECT_EQ(PlanParts(10 * kMiB, 1)->size(), 2u);  // raised to 5 MiB
  EXPECT_EQ(PlanParts(-1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanParts(kS3MaxObjectSize + 1).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parallelagram::aws

#include <gtest/gtest.h>

#include "util/log.hpp"
#include "util/mask.hpp"

namespace qetl {
namespace {

TEST(MaskWarehouseUrl, HidesUriPasswords) {
  EXPECT_EQ(mask_warehouse_url("postgresql://etl:s3cr3t@db.internal:5432/analytics"),
            "postgresql://etl:****@db.internal:5432/analytics");
  EXPECT_EQ(mask_warehouse_url("postgresql://etl@db/x?password=s3cr3t&sslmode=require"),
            "postgresql://etl@db/x?password=****&sslmode=require");
}

TEST(MaskWarehouseUrl, HidesConninfoPasswords) {
  EXPECT_EQ(mask_warehouse_url("host=db user=etl password=s3cr3t dbname=x"), "host=db user=etl password=**** dbname=x");
  EXPECT_EQ(mask_warehouse_url("host=db password = 'a b\\'c' dbname=x"), "host=db password = **** dbname=x");
}

TEST(MaskWarehouseUrl, LeavesUrlsWithoutPasswordsAlone) {
  EXPECT_EQ(mask_warehouse_url("sqlite:///var/lib/x.sqlite"), "sqlite:///var/lib/x.sqlite");
  EXPECT_EQ(mask_warehouse_url("postgresql://etl@db/x"), "postgresql://etl@db/x");
}

TEST(Redact, ReplacesEverySecretOccurrence) {
  EXPECT_EQ(redact("GET /v1/KEY/x?KEY", "KEY"), "GET /v1/****/x?****");
  EXPECT_EQ(redact("nothing", ""), "nothing");
}

TEST(LogRender, TextQuotesValuesThatNeedIt) {
  EXPECT_EQ(log::render(log::Level::warning, "cell failed", {{"segment", "country=US"}, {"n", "3"}}, log::Format::text, "T"),
            "T warning cell failed segment=\"country=US\" n=3");
}

TEST(LogRender, JsonIsOneObjectPerLine) {
  EXPECT_EQ(log::render(log::Level::error, "bad \"x\"\n", {{"k", "v"}}, log::Format::json, "T"),
            R"({"ts":"T","level":"error","msg":"bad \"x\"\n","k":"v"})");
}

}  // namespace
}  // namespace qetl

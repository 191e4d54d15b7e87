// Params and TOML parameter reading: types, defaults, located errors with "did you mean".

#include "suggest.hpp"
#include "toml_params.hpp"

#include <parrot/error.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace parrot {
namespace {

using ::testing::HasSubstr;

const Schema kSchema = {int_param("layers", 2, "blocks"), float_param("rate", 0.5, "a rate"),
                        bool_param("parallel", true, "a flag"),
                        string_param("positional", "nope", "scheme", {"rope", "nope", "alibi"}),
                        int_list_param("windows", {}, "per head")};

Params parse(const std::string& text) {
  const toml::table table = toml::parse(text, std::string_view("arch.toml"));
  return read_params(table, kSchema, "architecture 'tiny' (transformer)", {"component"});
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& error) {
    return error.what();
  }
  return "no error";
}

TEST(Params, DefaultsFillWhatTheTableOmits) {
  const Params params = parse("layers = 4\ncomponent = \"transformer\"\nrate = 3\n");
  EXPECT_EQ(params.integer("layers"), 4);
  EXPECT_DOUBLE_EQ(params.real("rate"), 3.0);  // an int is a fine float
  EXPECT_TRUE(params.boolean("parallel"));
  EXPECT_EQ(params.string("positional"), "nope");
  EXPECT_TRUE(params.int_list("windows").empty());
}

TEST(Params, RecordsWhichKeysWereRead) {
  const Params params = parse("");
  params.integer("layers");
  params.string("positional");
  EXPECT_EQ(params.unread(), (std::vector<std::string>{"rate", "parallel", "windows"}));
}

TEST(Params, UnknownKeyNamesLocationAndSuggests) {
  const std::string error = error_of("layers = 2\nlayres = 3\n");
  EXPECT_THAT(error, HasSubstr("arch.toml:2:1"));
  EXPECT_THAT(error, HasSubstr("unknown parameter 'layres'"));
  EXPECT_THAT(error, HasSubstr("did you mean 'layers'?"));
}

TEST(Params, WrongTypeNamesKeyTypeAndLocation) {
  const std::string error = error_of("\nlayers = \"two\"\n");
  EXPECT_THAT(error, HasSubstr("arch.toml:2:10"));
  EXPECT_THAT(error, HasSubstr("layers: must be an int, got a string"));
  EXPECT_THAT(error_of("windows = [1, 2.5]"), HasSubstr("every entry must be an int"));
  EXPECT_THAT(error_of("parallel = 1"), HasSubstr("must be a bool"));
}

TEST(Params, StringChoicesAreCheckedWithSuggestion) {
  const std::string error = error_of("positional = \"alibbi\"");
  EXPECT_THAT(error, HasSubstr("'alibbi' is not one of rope | nope | alibi"));
  EXPECT_THAT(error, HasSubstr("did you mean 'alibi'?"));
}

TEST(Params, FailPointsAtTheValue) {
  const Params params = parse("layers = 0\n");
  try {
    params.fail("layers", "must be at least 1");
    FAIL() << "fail() returned";
  } catch (const InputError& error) {
    EXPECT_THAT(error.what(), HasSubstr("arch.toml:1:10: architecture 'tiny' (transformer): "
                                        "layers = 0: must be at least 1"));
  }
}

TEST(Params, ReadingAsTheWrongTypeIsAPluginBug) {
  const Params params = parse("");
  EXPECT_THROW(params.real("layers"), std::logic_error);
  EXPECT_THROW(params.integer("missing"), std::logic_error);
}

TEST(DidYouMean, OnlySuggestsCloseNames) {
  EXPECT_EQ(did_you_mean("hard_albi", {"rope", "hard_alibi"}), " (did you mean 'hard_alibi'?)");
  EXPECT_EQ(did_you_mean("mamba", {"rope", "hard_alibi"}), "");
}

TEST(ParamsToString, PrintsTomlReadableValues) {
  EXPECT_EQ(to_string(Value{1.0}), "1.0");
  EXPECT_EQ(to_string(Value{std::vector<int64_t>{1, 2}}), "[1, 2]");
  EXPECT_EQ(to_string(Value{std::string("rope")}), "\"rope\"");
}

}  // namespace
}  // namespace parrot

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Tests.TestSupport;

namespace Keeptrusts.Providers.Tests.Json;

public sealed class ModelRewriterTests
{
    [Theory]
    [InlineData("""{"model":"gpt-4o","messages":[]}""", """{"model":"m-1","messages":[]}""")]
    [InlineData("""{ "messages" : [ ] ,"model" :"gpt-4o" }""", """{ "messages" : [ ] ,"model" :"m-1" }""")]
    [InlineData("""{"mod\u0065l":"gpt-4o"}""", """{"mod\u0065l":"m-1"}""")]
    [InlineData("""{"model":null,"x":{"model":"inner"}}""", """{"model":"m-1","x":{"model":"inner"}}""")]
    [InlineData("""{"model":{"nested":[1,2]},"model":7}""", """{"model":"m-1","model":"m-1"}""")]
    [InlineData("""{}""", """{"model":"m-1"}""")]
    [InlineData("""  {"messages":[]}  """, """  {"model":"m-1","messages":[]}  """)]
    public void Replaces_only_the_top_level_model(string body, string expected)
    {
        Assert.Equal(expected, Encoding.UTF8.GetString(ModelRewriter.Rewrite(Encoding.UTF8.GetBytes(body), "m-1")));
    }

    [Fact]
    public void Escapes_the_model_as_a_json_string()
    {
        var output = ModelRewriter.Rewrite("""{"model":"x"}"""u8, "we\"ird\\mod\u00e9l\n");

        Assert.Equal("we\"ird\\mod\u00e9l\n", JsonDocument.Parse(output).RootElement.GetProperty("model").GetString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("{\"model\":\"x\"")]
    [InlineData("{\"model\":\"x\"} trailing")]
    [InlineData("{\"a\":1,}")]
    public void Refuses_anything_but_one_json_object(string body)
    {
        Assert.ThrowsAny<JsonException>(() => ModelRewriter.Rewrite(Encoding.UTF8.GetBytes(body), "m"));
    }

    [Fact]
    public void Any_object_keeps_every_other_member_and_every_byte_around_the_model()
    {
        var key = Gen.Elements("messages", "temperature", "x_vendor", "model", "stream", "metadata", "tools");
        var value = Gen.OneOf(
            ArbMap.Default.GeneratorFor<int>().Select(i => (JsonNode?)JsonValue.Create(i)),
            ArbMap.Default.GeneratorFor<NonNull<string>>().Select(s => (JsonNode?)JsonValue.Create(s.Get)),
            Gen.Constant<JsonNode?>(null),
            Gen.Constant<JsonNode?>(new JsonObject { ["model"] = "nested", ["list"] = new JsonArray(1, "two") }));
        var members = Gen.Zip(key, value).ListOf();
        var model = ArbMap.Default.GeneratorFor<NonNull<string>>().Select(s => s.Get);

        Properties.ForAll(Gen.Zip(members, model), input =>
        {
            var (pairs, newModel) = input;
            var members = pairs.Select(p => $"\"{p.Item1}\":{p.Item2?.ToJsonString() ?? "null"}").ToList();
            var body = "{" + string.Join(",", members) + "}";
            var firstModelIndex = pairs.FindIndex(p => p.Item1 == "model");
            var firstModel = firstModelIndex < 0 ? -1 : Encoding.UTF8.GetByteCount("{" + string.Join(",", members.Take(firstModelIndex)) + (firstModelIndex > 0 ? "," : "") + "\"model\":");
            var bytes = Encoding.UTF8.GetBytes(body);
            var output = ModelRewriter.Rewrite(bytes, newModel);

            var expected = pairs.Select(p => p.Item1 == "model" ? ("model", (JsonNode?)JsonValue.Create(newModel)) : p).ToList();
            if (!pairs.Any(p => p.Item1 == "model"))
            {
                expected.Insert(0, ("model", JsonValue.Create(newModel)));
            }

            var reader = new Utf8JsonReader(output);
            var actual = new List<(string, JsonNode?)>();
            reader.Read();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                actual.Add((name, JsonNode.Parse(ref reader)));
            }

            // Everything before the first model value is byte-identical; without one, the original follows the inserted member.
            var prefixKept = firstModel < 0
                ? output.AsSpan(output.Length - (bytes.Length - 1)).SequenceEqual(bytes.AsSpan(1))
                : output.AsSpan(0, firstModel).SequenceEqual(bytes.AsSpan(0, firstModel));
            return prefixKept && actual.Count == expected.Count
                && actual.Zip(expected).All(p => p.First.Item1 == p.Second.Item1 && JsonNode.DeepEquals(p.First.Item2, p.Second.Item2));
        });
    }
}

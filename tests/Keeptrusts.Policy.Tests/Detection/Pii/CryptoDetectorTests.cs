using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

public class CryptoDetectorTests
{
    [Theory]
    [InlineData("genesis 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa coinbase", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")]
    [InlineData("p2sh: 3Ai1JZ8pdJb2ksieUV8FsxSNVJCpoPi8W6.", "3Ai1JZ8pdJb2ksieUV8FsxSNVJCpoPi8W6")]
    [InlineData("segwit bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")]
    [InlineData("upper BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")]
    [InlineData("taproot bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0")]
    public void Finds_addresses(string text, string expected) => Assert.Equal([expected], Values(text, PiiEntityType.Crypto));

    [Theory]
    [InlineData("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb")]
    [InlineData("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa1")]
    [InlineData("x1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")]
    [InlineData("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5")]
    [InlineData("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7Kv8f3t4")]
    [InlineData("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj1")]
    [InlineData("1000000000000000000000000000")]
    public void Rejects_non_addresses(string text) => Assert.Empty(Values(text, PiiEntityType.Crypto));
}

using System.Text.Json;

namespace Keeptrusts.Providers.Json;

/// <summary>The few request settings an adapter needs without parsing the whole body.</summary>
internal readonly record struct ChatRequestFlags(bool IncludeUsage)
{
    /// <summary>Reads <c>stream_options.include_usage</c>. A body that is not JSON reads as no flags.</summary>
    public static ChatRequestFlags Read(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return default;
            }

            var includeUsage = false;
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
                {
                    continue;
                }

                var isOptions = reader.ValueTextEquals("stream_options"u8);
                reader.Read();
                if (isOptions && reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.CurrentDepth > 1)
                    {
                        if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 2 && reader.ValueTextEquals("include_usage"u8))
                        {
                            reader.Read();
                            includeUsage = reader.TokenType == JsonTokenType.True;
                        }

                        reader.Skip();
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            return new ChatRequestFlags(includeUsage);
        }
        catch (JsonException)
        {
            return default;
        }
    }
}

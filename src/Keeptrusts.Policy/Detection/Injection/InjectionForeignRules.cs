namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>
/// The classic override and extraction constructions in Spanish, French, German, Portuguese, Russian and Chinese:
/// an override verb ("ignora", "oublie", "vergiss", "esqueça", "забудь", "忽略") or a disclosure verb ("muestra",
/// "affiche", "zeige", "mostre", "покажи", "输出") followed, within the same sentence, by a word for the model's
/// instructions, rules or prompt. Like the English rules it needs the frame, not just the verb: "olvidé mi
/// contraseña" and "ignoriere die Tippfehler" stay clean.
/// </summary>
/// <remarks>Text arrives folded (lower-case Latin, diacritics removed, look-alikes mapped); the word lists are folded the same way.</remarks>
internal static class InjectionForeignRules
{
    private const int Window = 90;

    /// <summary>Override verbs (stems), by language: es, fr, de, pt, ru, zh.</summary>
    public static readonly string[] OverrideVerbs = Fold(
    [
        "ignora", "olvida", "omite", "descarta", "haz caso omiso",
        "ignorez", "oublie", "ne tiens pas compte", "ne tenez pas compte", "fais abstraction",
        "ignoriere", "ignorieren sie", "vergiss", "vergessen sie", "missachte", "uberschreibe",
        "esqueca", "esquece", "desconsidere", "desconsidera",
        "игнорируй", "Игнорируй", "игнорируйте", "Игнорируйте", "забудь", "Забудь", "забудьте", "Забудьте", "не обращай внимания", "Не обращай внимания",
        "忽略", "无视", "忘记", "忘掉", "不要理会",
    ]);

    /// <summary>Disclosure verbs (stems), by language: es, fr, de, pt, ru, zh.</summary>
    public static readonly string[] RevealVerbs = Fold(
    [
        "muestra", "muestrame", "revela", "repite",
        "revele", "affiche", "repete", "montre", "donne-moi", "dis-moi",
        "zeige", "zeig", "wiederhole", "verrate", "gib mir",
        "mostre", "mostra", "repita", "diga",
        "покажи", "Покажи", "повтори", "Повтори", "раскрой", "Раскрой", "выведи", "Выведи",
        "输出", "告诉我", "显示", "重复", "透露", "打印",
    ]);

    // Words for the model's own instructions; the second group ("previous", "above") only supports an override.
    private static readonly string[] DirectiveNouns = Fold(
    [
        "instruccion", "indicacion", "regla", "prompt", "consigna",
        "instruction", "consigne", "regle", "directive",
        "anweisung", "regel", "vorgabe", "richtlinie", "systemprompt", "anleitung",
        "instruc", "regra", "orientac", "diretriz",
        "инструкц", "правил", "указани", "промпт",
        "指令", "指示", "规则", "提示", "设定",
    ]);

    // A disclosure needs the model's own instructions: an instruction noun plus "your", "system" or "initial".
    private static readonly string[] InstructionNouns = Fold(
    [
        "instruccion", "indicacion", "prompt", "consigna", "instruction", "consigne", "anweisung", "vorgabe",
        "instruc", "orientac", "инструкц", "указани", "промпт", "指令", "指示", "提示词", "设定",
    ]);

    private static readonly string[] ModelMarkers = Fold(
    [
        " tus ", " tu ", "sistema", "inicial", "originales", " tes ", " ton ", " vos ", "votre", "systeme", "initial",
        "deine", " dein ", " ihre ", "system", "anfang", " suas ", " sua ", " seu ", " seus ", "свои", "свой", "твои", "твой",
        "системн", "начал", "你的", "系统", "初始", "开始",
    ]);

    private static readonly string[] PriorWords = Fold(
    [
        "anterior", "previa", "previo", "todo lo", "precedent", "vorherig", "bisherig", "obige", "alles",
        "предыдущ", "прежн", "всё", "все", "之前", "以上", "上面", "先前",
    ]);

    /// <summary>Evaluates the frame after an override verb.</summary>
    public static void Override(scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        if (!WholeWord(c.Normalized, pos, length))
        {
            return;
        }

        var after = Sentence(c.Normalized, pos + length);
        if (ContainsAny(after, DirectiveNouns) || ContainsAny(after, PriorWords))
        {
            ev.Add(InjectionSignalKind.OverrideInstructions, 0.9f, pos, pos + length);
        }
    }

    /// <summary>Evaluates the frame after a disclosure verb.</summary>
    public static void Reveal(scoped in InjectionScanContext c, int pos, int length, ref InjectionEvidence ev)
    {
        if (!WholeWord(c.Normalized, pos, length))
        {
            return;
        }

        var after = Sentence(c.Normalized, pos + length);
        if (ContainsAny(after, InstructionNouns) && ContainsAny(after, ModelMarkers))
        {
            ev.Add(InjectionSignalKind.RevealPrompt, 0.85f, pos, pos + length);
        }
    }

    // The lists are written as people type them and folded the way the text is (Cyrillic look-alikes become Latin
    // letters, Latin diacritics go), so that both sides of every comparison are in the same form.
    private static string[] Fold(string[] words)
    {
        var folded = new List<string>(words.Length);
        foreach (var word in words)
        {
            var buffer = new char[word.Length];
            var written = InjectionTextNormalizer.Normalize(word, buffer, out _);
            var text = new string(buffer, 0, written);
            if (!folded.Contains(text, StringComparer.Ordinal))
            {
                folded.Add(text);
            }
        }

        return [.. folded];
    }

    // The verbs are listed as whole words ("ignora" must not fire inside "ignorance"); Chinese has no word breaks.
    private static bool WholeWord(ReadOnlySpan<char> s, int pos, int length)
    {
        var end = pos + length;
        return s[pos] >= '\u2E80' || end >= s.Length || !char.IsLetter(s[end]);
    }

    private static ReadOnlySpan<char> Sentence(ReadOnlySpan<char> s, int start)
    {
        if (start >= s.Length)
        {
            return [];
        }

        var rest = s[start..Math.Min(s.Length, start + Window)];
        var stop = rest.IndexOfAny(".!?\n。！？");
        return stop < 0 ? rest : rest[..stop];
    }

    private static bool ContainsAny(ReadOnlySpan<char> text, string[] words)
    {
        foreach (var w in words)
        {
            if (text.Contains(w, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

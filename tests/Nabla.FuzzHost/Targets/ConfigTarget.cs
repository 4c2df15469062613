using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nabla.Cli;

namespace Nabla.FuzzHost.Targets;

/// <summary>
/// <see cref="RunConfig.Parse"/> → <see cref="UsageException"/>, on real config.json files written by
/// <see cref="RunConfig.Write"/> (the defaults, a resnet, rmsprop, a CSV run with classes, features and norm statistics,
/// …). Mutations work on the top-level (key, raw JSON) pairs — so keys can repeat — giving values of the wrong type,
/// numbers at the edges, plausible and implausible option text, unknown and repeated keys, deep nesting, huge strings —
/// before character havoc now and then. Framing: not JSON or not an object; body: any setting's check, and acceptance.
/// </summary>
internal sealed partial class ConfigTarget : Target
{
    private static readonly string[] Keys = [.. RunOptions.All.Where(o => o.Json is not null).Select(o => o.Json!), "config_version", "norm_mean", "norm_std", "classes", "features"];

    /// <summary>Option text worth trying, per key (others get the generic values).</summary>
    private static readonly Dictionary<string, string[]> Texts = new()
    {
        ["model"] = ["mlp:1", "mlp:0", "mlp:", "mlp", "mlp:3,", "mlp:99999999999", "mlp:-1", "cnn", "cnn:1,2", "cnn:1", "resnet:8", "resnet:9", "resnet:20", "plain:14", "resnet", "Resnet:20", "transformer:1", ":", " "],
        ["optimizer"] = ["sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw", "ADAM", "lbfgs", ""],
        ["schedule"] = ["cosine", "none", "onecycle", "step:3:0.5", "step:0:0.5", "step:1:0", "step:1:1", "step:x:y", "plateau:2", "plateau:-1", "plateau", "cosine:1", "step:100000:1e-300"],
        ["norm"] = ["none", "batch", "layer", "instance", "switch", "group:4", "group:0", "group:4097", "group:x", "group:", "weird"],
        ["weight_norm"] = ["none", "ws", "ws-minmax", "spectral", "spectral-filter:2", "spectral-filter:0", "spectral-filter:0.9", "spectral-filter:1.5", "spectral-filter:", "spectral-filter:-1"],
        ["augment"] = ["none", "hflip", "hflip,crop:2", "mixup", "mixup,cutmix", "crop:-1", "blur:4", "rotate", "", "NONE", "unknown"],
        ["class_weights"] = ["none", "balanced", "1,2", "0,0", "1,,2", "1e7", "-1", "1,nan", "BALANCED"],
        ["test"] = ["default", "none", "0.2", "0", "0.95", "1e-9", "file.csv", "", " ", "images/"],
        ["task"] = ["classification", "regression", "Regression", "clustering", ""],
        ["activation"] = ["relu", "gelu", "leakyrelu", "swish", "linear", "none", "identity", "softmax", ""],
        ["dropout_mode"] = ["inverted", "classic", "other"],
        ["data"] = ["embedded", "fashion-mnist", "t.csv", "", " ", "images"],
        ["label"] = ["y", "", " "],
        ["init"] = ["w.safetensors", ""],
        ["early_stopping"] = ["none", "off", "5"],
        ["validation"] = ["none", "holdout", "holdout:0.1", "holdout:1"],
    };

    private readonly List<byte[]> _seeds = [];

    public ConfigTarget()
    {
        RunConfig[] configs =
        [
            new(),
            new() { Model = "resnet:20", Augment = "hflip,crop:2", Norm = "group:4", Epochs = 3, Warmup = 1 },
            new() { Optimizer = "rmsprop", Momentum = 0.9, Alpha = 0.95, Schedule = "step:3:0.5", WeightNorm = "spectral-filter:0.9" },
            new()
            {
                Data = "t.csv", Label = "y", Test = "0.25", Model = "mlp:8", Normalize = true, Classes = ["a", "b", "c"], Features = ["f1", "f2"],
                NormMean = [0.5f, -1f], NormStd = [1f, 2f], ClassWeights = "1,2,0.5", Validation = 0,
            },
            new() { Data = "t.csv", Label = "target", Task = "regression", Features = ["x"], NormMean = [3f], NormStd = [0.5f], Optimizer = "adamw", Betas = [0.8, 0.99] },
            new() { Model = "cnn:4,8", Optimizer = "nesterov", Lr = 0.01, Schedule = "plateau:2", Augment = "rotate:10,erase:0.25,mixup:0.2", LabelSmoothing = 0.1, Ensemble = 3 },
        ];
        foreach (var c in configs)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = _seeds.Count % 2 == 0 })) c.Resolved().Write(w);
            _seeds.Add(ms.ToArray());
        }
    }

    public override string Name => "config";
    public override int SeedCount => _seeds.Count;
    public override FuzzCase Seed(int i) => new(_seeds[i], "seed");
    public override bool IsDocumented(Exception e) => e is UsageException;

    public override Stage Classify(Exception e) =>
        e.Message.Contains(": not a run configuration", StringComparison.Ordinal) ? Stage.Framing : Stage.Body;

    public override void Execute(FuzzCase c, long index) => RunConfig.Parse(c.Data, "config.json");

    public override FuzzCase Mutate(Random r)
    {
        var seed = Mut.Pick(r, _seeds);
        if (Mut.Chance(r, 0.05)) return new FuzzCase(Mut.Havoc(r, seed, Mut.Pick(r, _seeds), 6), "havoc");
        var obj = (JsonObject)JsonNode.Parse(seed)!;
        var pairs = obj.Select(kv => (Key: kv.Key, Raw: kv.Value?.ToJsonString() ?? "null")).ToList();
        var done = new List<string>();
        int steps = 1 + r.Next(3);
        for (int s = 0; s < steps; s++)
        {
            int at = pairs.Count > 0 ? r.Next(pairs.Count) : -1;
            switch (r.Next(9))
            {
                case 0 or 1 or 2 when at >= 0:
                    pairs[at] = (pairs[at].Key, Plausible(r, pairs[at].Key));
                    done.Add("value");
                    break;
                case 3 when at >= 0:
                    pairs[at] = (pairs[at].Key, Generic(r));
                    done.Add("type");
                    break;
                case 4:
                    pairs.Insert(r.Next(pairs.Count + 1), (Mut.Chance(r, 0.6) ? Mut.Pick(r, Keys) : Mut.Pick(r, ["unknown", "", "Model", "lr ", "__proto__", "x\ny", new string('k', 2000)]), Mut.Chance(r, 0.5) ? Plausible(r, Mut.Pick(r, Keys)) : Generic(r)));
                    done.Add("key+");
                    break;
                case 5 when at >= 0:
                    pairs.RemoveAt(at);
                    done.Add("key-");
                    break;
                case 6 when at >= 0:
                    pairs.Insert(r.Next(pairs.Count + 1), pairs[at]);
                    done.Add("repeat");
                    break;
                case 7 when at >= 0:
                {
                    // Arrays: the statistics, classes, features and betas, with lengths and elements changed.
                    var items = Enumerable.Range(0, r.Next(0, Mut.Chance(r, 0.9) ? 5 : 5000)).Select(_ => Mut.Chance(r, 0.7) ? Number(r) : Mut.Chance(r, 0.5) ? Generic(r, small: true) : JsonValue.Create(Mut.Pick(r, Mut.NumberTexts)).ToJsonString());
                    pairs[at] = (Mut.Pick(r, ["norm_mean", "norm_std", "classes", "features", "betas"]), "[" + string.Join(",", items) + "]");
                    done.Add("array");
                    break;
                }
                default:
                    if (at >= 0) pairs[at] = (pairs[at].Key, Mut.TextHavoc(r, pairs[at].Raw, "{}[]\":,0123456789-e.\\ tfn"));
                    done.Add("raw");
                    break;
            }
        }
        var sb = new StringBuilder(Mut.Chance(r, 0.03) ? "\uFEFF{" : "{");
        for (int i = 0; i < pairs.Count; i++)
            sb.Append(i > 0 ? "," : "").Append(JsonValue.Create(pairs[i].Key).ToJsonString()).Append(':').Append(pairs[i].Raw);
        sb.Append('}');
        string text = sb.ToString();
        if (Mut.Chance(r, 0.05)) { text = Mut.TextHavoc(r, text, "{}[]\":,0123456789-e.\\ /*", 2); done.Add("text"); }
        return new FuzzCase(Encoding.UTF8.GetBytes(text), string.Join(",", done));
    }

    /// <summary>A value that has a chance to pass the key's own check: its option text, a number near its range, a boolean.</summary>
    private static string Plausible(Random r, string key)
    {
        if (Texts.TryGetValue(key, out var texts) && Mut.Chance(r, 0.7)) return JsonValue.Create(Mut.Pick(r, texts)).ToJsonString();
        return r.Next(4) switch
        {
            0 => Mut.Chance(r, 0.5) ? "true" : "false",
            1 => JsonValue.Create(Mut.Number(r)).ToJsonString(),   // the number as a string
            _ => Number(r),
        };
    }

    /// <summary>A JSON number: the edge values that are valid JSON number text, else one of a few.</summary>
    private static string Number(Random r)
    {
        string s = Mut.Number(r);
        return JsonNumber().IsMatch(s) ? s : Mut.Pick(r, ["0", "1", "-1", "0.5", "1e308", "1e400", "-1e400", "2147483648", "1.5", "-0", "1E-400"]);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")]
    private static partial System.Text.RegularExpressions.Regex JsonNumber();

    private static string Generic(Random r, bool small = false) => r.Next(8) switch
    {
        0 => "null",
        1 => "{}",
        2 => "[]",
        3 => new string('[', r.Next(1, 40)) + "1" + new string(']', r.Next(1, 40)),
        4 => JsonValue.Create(new string('x', small ? r.Next(1, 100) : r.Next(1, 100_000))).ToJsonString(),
        5 => "{\"a\":{\"b\":[1,{\"c\":2}]}}",
        6 => "\"\\u0000\\ud800\"",
        _ => "[1,\"a\",true,null]",
    };
}

using System.Text;
using Nabla.Data;
using Nabla.Data.Transforms;

namespace Nabla.FuzzHost.Targets;

/// <summary>
/// <see cref="Augmentation.Parse"/> → <see cref="FormatException"/>; a spec that parses must then apply, without any
/// exception and with finite values, to a small batch (N, 1, 8, 8), (N, 3, 8, 8) or (N, 8, 8) through
/// <see cref="Augmentation.AsLoaderTransform"/>. Specs are recombined from the known names with argument lists of
/// every length around the allowed one and numbers at the edges, then mutated character by character now and then.
/// Framing: an item that cannot be read (empty, unknown name, argument count, not a number); body: values the
/// transforms check, two batch items, and acceptance (parsed and applied).
/// </summary>
internal sealed class AugmentTarget : Target
{
    /// <summary>The batch the spec is applied to.</summary>
    internal sealed record Settings(int N, int Channels, bool Flat, int Classes, int Seed)
    {
        public override string ToString() => $"batch ({N}, {(Flat ? "" : $"{Channels}, ")}8, 8), classes {Classes}, generator {Seed}";
    }

    /// <summary>A parsed spec that failed to apply: always a finding, whatever the inner exception's type.</summary>
    internal sealed class ApplyException(string message, Exception? inner) : Exception(message, inner);

    private static readonly string[] Plain = ["0", "0.1", "0.25", "0.5", "0.9", "1", "2", "3", "4", "5", "7", "9", "10", "15", "30", "45", "90", "180", "360", "0.08", "0.2", "1.2"];

    private static readonly string[] Seeds =
    [
        "hflip", "hflip,crop:2", "hflip:0.3,vflip,rotate:15", "affine:10:0.1:0.9:1.1:5", "resized-crop:0.5,jitter:0.2:0.2:0.2:0.05",
        "brightness:0.3,contrast:0.3,saturation:0.3,hue:0.1", "gray:0.5,shuffle,blur:5", "noise:0.1:1,saltpepper:0.05",
        "glare:1:0.6,stripes:1,grid:1:0.2,texture", "erase:1,cutout:0.5,rain:1,sunflare:1:0.2", "mixup:0.4", "crop:4,cutmix", "none", "",
    ];

    public override string Name => "augment";
    public override int SeedCount => Seeds.Length;

    public override FuzzCase Seed(int i) => Case(Seeds[i], new Settings(2, i % 2 == 0 ? 3 : 1, false, 3, i), "seed");

    private static FuzzCase Case(string spec, Settings s, string mutation) => new(Encoding.UTF8.GetBytes(spec), mutation, s);

    public override bool IsDocumented(Exception e) => e is FormatException;

    public override Stage Classify(Exception e) =>
        e.InnerException is ArgumentException || e.Message.Contains("at most one of mixup and cutmix", StringComparison.Ordinal) ? Stage.Body : Stage.Framing;

    public override void Execute(FuzzCase c, long index)
    {
        var s = (Settings)c.Settings!;
        string spec = Encoding.UTF8.GetString(c.Data);
        var aug = Augmentation.Parse(spec);
        int[] shape = s.Flat ? [s.N, 8, 8] : [s.N, s.Channels, 8, 8];
        var batch = new Batch(Tensor.Rand(shape, s.Seed), IntTensor.FromArray([.. Enumerable.Range(0, s.N).Select(i => i % s.Classes)]), null, [.. Enumerable.Range(0, s.N)]);
        Batch result;
        try
        {
            result = aug.AsLoaderTransform(s.Classes)(batch, new Generator(s.Seed));
        }
        catch (Exception e)
        {
            throw new ApplyException($"'{spec}' parsed but failed on {s}: {Fuzzer.Describe(e)}", e);
        }
        if (result.Features.Shape[0] != s.N || result.Features.ToArray().Any(v => !float.IsFinite(v)))
            throw new ApplyException($"'{spec}' on {s} gave features {Shapes.Format([.. result.Features.Shape])} with non-finite values or a lost sample", null);
    }

    public override FuzzCase Mutate(Random r)
    {
        var s = new Settings(Mut.Pick(r, [1, 2, 4]), Mut.Chance(r, 0.5) ? 1 : 3, Mut.Chance(r, 0.1), r.Next(1, 6), r.Next());
        if (Mut.Chance(r, 0.1)) return Case(Mut.TextHavoc(r, Mut.Pick(r, Seeds), ",: .-e0123456789", 4), s, "text");
        int items = Mut.Chance(r, 0.03) ? 0 : 1 + r.Next(4);
        var parts = new List<string>();
        var done = new List<string>();
        for (int i = 0; i < items; i++)
        {
            var known = Mut.Pick(r, Augmentation.Registry);
            string name = known.Name;
            var (min, max) = (known.MinArgs, known.MaxArgs);
            if (Mut.Chance(r, 0.05)) { name = Mut.Pick(r, [name.ToUpperInvariant(), name[1..], name + "s", "", " ", "flip", "none", "crop4"]); done.Add("name"); }
            int count = Mut.Chance(r, 0.9) ? r.Next(min, max + 1) : Mut.Pick(r, [Math.Max(0, min - 1), max + 1, 9]);
            var args = new List<string>();
            for (int k = 0; k < count; k++)
            {
                bool edge = Mut.Chance(r, 0.25);
                if (edge) done.Add("edge");
                args.Add(edge ? Mut.Number(r) : Mut.Pick(r, Plain));
            }
            string sep = Mut.Chance(r, 0.95) ? ":" : Mut.Pick(r, [" : ", "::", ";"]);
            parts.Add(count == 0 ? name : name + sep + string.Join(sep, args));
        }
        string joined = string.Join(Mut.Chance(r, 0.95) ? "," : Mut.Pick(r, [", ", ",,", " , "]), parts);
        if (Mut.Chance(r, 0.05)) joined = Mut.Pick(r, [" none ", "None", "", " ", ",", joined + ","]);
        return Case(joined, s, done.Count == 0 ? "grammar" : string.Join(",", done.Distinct()));
    }
}

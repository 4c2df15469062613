using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Nabla.Tests;

/// <summary>
/// The folders of src/Nabla depend on each other only as docs/ARCHITECTURE.md's table allows: every name in every
/// source file is resolved by the compiler's semantic model to the file that declares it, and the pair of folders is
/// checked against the table.
/// </summary>
public class ArchitectureTests
{
    static string Src => Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Fixtures.Dir))!, "src", "Nabla");

    /// <summary>Folder → the folders its code may name, read from the table in docs/ARCHITECTURE.md.</summary>
    internal static Dictionary<string, string[]> Allowed()
    {
        string doc = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Fixtures.Dir))!, "docs", "ARCHITECTURE.md");
        var lines = File.ReadAllLines(doc);
        int start = Array.IndexOf(lines, "| folder | uses |");
        Assert.True(start >= 0, "docs/ARCHITECTURE.md lost its '| folder | uses |' table.");
        var table = new Dictionary<string, string[]>();
        for (int i = start + 2; i < lines.Length && lines[i].StartsWith('|'); i++)
        {
            var cells = lines[i].Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            table[cells[0]] = cells[1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(u => u.TrimEnd('†', ' ')).ToArray();
        }
        return table;
    }

    static string FolderOf(string path)
    {
        var rel = Path.GetRelativePath(Src, path).Split(Path.DirectorySeparatorChar);
        return rel.Length > 1 ? rel[0] : "(root)";
    }

    /// <summary>Every (from folder, to folder) pair the code makes, with one example each.</summary>
    internal static Dictionary<(string From, string To), string> Edges()
    {
        var files = Directory.EnumerateFiles(Src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToArray();
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), options, path: f)).ToArray();
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat([typeof(System.Numerics.Tensors.TensorPrimitives).Assembly.Location, typeof(CsvHelper.CsvReader).Assembly.Location,
                typeof(MathNet.Numerics.Control).Assembly.Location])
            .Where(p => p.Length > 0).Distinct().Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create("Nabla", trees, references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));
        var edges = new Dictionary<(string, string), string>();
        foreach (var tree in trees)
        {
            string from = FolderOf(tree.FilePath);
            var model = compilation.GetSemanticModel(tree);
            foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var symbol = model.GetSymbolInfo(name).Symbol;
                if (symbol is null) continue;
                // A member's home is its type's declaration; a type's is its own (the first part of a partial type).
                var target = symbol as ITypeSymbol ?? symbol.ContainingType;
                if (target is null) continue;
                target = target.OriginalDefinition;
                var location = target.Locations.FirstOrDefault(l => l.IsInSource);
                if (location is null) continue;
                string to = FolderOf(location.SourceTree!.FilePath);
                if (to == from) continue;
                edges.TryAdd((from, to), $"{Path.GetFileName(tree.FilePath)}: {name.Identifier.Text}");
            }
        }
        return edges;
    }

    [Fact]
    public void Folders_depend_on_each_other_exactly_as_the_architecture_table_says()
    {
        var edges = Edges();
        var allowed = Allowed();
        var bad = edges.Where(e => !allowed.TryGetValue(e.Key.From, out var ok) || !ok.Contains(e.Key.To))
            .Select(e => $"{e.Key.From} → {e.Key.To} ({e.Value})").Order().ToArray();
        Assert.True(bad.Length == 0, "Dependencies the table in docs/ARCHITECTURE.md does not allow:\n" + string.Join("\n", bad));
        var unused = allowed.SelectMany(r => r.Value.Select(to => (r.Key, to))).Where(e => !edges.ContainsKey(e))
            .Select(e => $"{e.Key} → {e.to}").ToArray();
        Assert.True(unused.Length == 0, "The table in docs/ARCHITECTURE.md lists dependencies the code no longer has:\n" + string.Join("\n", unused));
        // The two cycles issue 20 named stay broken.
        Assert.DoesNotContain(edges.Keys, e => e is ("Kernels", "Backends") or ("Layers", "Training"));
    }
}

using Microsoft.Data.Sqlite;

namespace OnceHub.LocalDelivery;

/// <summary>
/// The delivery store's statements on its connection, each prepared on first use and kept: parsing and planning
/// the same statements for every attempt was a measurable share of a fan-out's CPU time. The SQL texts are
/// constants, so the cache is bounded. Used by one thread at a time (the connection's owner sees to it).
/// </summary>
internal sealed class StatementCache(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _prepared = new(StringComparer.Ordinal);

    /// <summary>Runs a kept statement with these parameters; the number of rows it changed.</summary>
    public int Execute(string sql, params (string Name, object? Value)[] parameters) => Bound(sql, parameters).ExecuteNonQuery();

    /// <summary>Runs a kept statement with these parameters; its first column of its first row.</summary>
    public object? Scalar(string sql, params (string Name, object? Value)[] parameters) => Bound(sql, parameters).ExecuteScalar();

    /// <summary>Runs a kept statement with these parameters and reads every row.</summary>
    public List<T> ReadAll<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        using var reader = Bound(sql, parameters).ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }
        return rows;
    }

    public void Dispose()
    {
        foreach (var command in _prepared.Values)
        {
            command.Dispose();
        }
        _prepared.Clear();
    }

    private SqliteCommand Bound(string sql, (string Name, object? Value)[] parameters)
    {
        if (!_prepared.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            command.Prepare();
            _prepared[sql] = command;
        }
        // A kept statement keeps its parameters: each call site names the same ones in the same order, so only the
        // values change (new parameter objects for every row were a share of the writer's time).
        if (command.Parameters.Count != parameters.Length)
        {
            command.Parameters.Clear();
            foreach (var (name, _) in parameters)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }
        }
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = command.Parameters[i];
            if (!string.Equals(parameter.ParameterName, parameters[i].Name, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"statement parameters out of order: {parameter.ParameterName} vs {parameters[i].Name}");
            }
            parameter.Value = parameters[i].Value ?? DBNull.Value;
        }
        return command;
    }
}

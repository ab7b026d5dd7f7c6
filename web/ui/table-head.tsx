/** A list table's header row; with `actions`, a last unlabelled column holds each row's buttons. */
export function TableHead({ columns, actions = false }: { columns: string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th key={c}>{c}</th>
        ))}
        {actions && (
          <th>
            <span class="sr-only">Actions</span>
          </th>
        )}
      </tr>
    </thead>
  );
}

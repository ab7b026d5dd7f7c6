import { Component } from "preact";
import type { ContainerItem, UpdateItem } from "../../../src/protocol/views.ts";
import { useEnv } from "../../app/contexts.ts";
import { containerHref } from "../../app/route.ts";
import { portLabels, statusText } from "../../lib/format.ts";
import { cpuText, formatBytes } from "../../lib/units.ts";
import { ContainerActions } from "./container-actions.tsx";
import { PortList } from "./port-list.tsx";
import { StateBadge } from "./state-badge.tsx";
import { UpdateBadge } from "./updates.tsx";

interface Props {
  container: ContainerItem;
  now: number;
  /** its live CPU (% of one CPU) and memory, when it runs */
  figures: { cpu: number; mem: number } | undefined;
  selectable: boolean;
  selected: boolean;
  /** the same function on every render (rows are memoised on their props) */
  onSelect: (id: string, on: boolean) => void;
  /** what the update check found for it (`updates:<env>`) */
  update?: UpdateItem | undefined;
}

/**
 * A row renders again only when what it shows changed: with 500 containers, a stats tick must not
 * redraw 500 rows whose figures read the same (the list gets new figure objects every tick).
 */
export class ContainerRow extends Component<Props> {
  override shouldComponentUpdate(next: Props): boolean {
    return !samePicture(this.props, next);
  }
  override render() {
    return <Row {...this.props} />;
  }
}

function samePicture(a: Props, b: Props): boolean {
  const keys = Object.keys(a) as (keyof Props)[];
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => {
    if (key !== "figures") return a[key] === b[key];
    if (!a.figures || !b.figures) return a.figures === b.figures;
    return (
      cpuText(a.figures.cpu) === cpuText(b.figures.cpu) &&
      formatBytes(a.figures.mem) === formatBytes(b.figures.mem)
    );
  });
}

function Row({ container: c, now, figures, selectable, selected, onSelect, update }: Props) {
  const env = useEnv();
  return (
    <tr
      data-testid="container-row"
      data-name={c.name}
      data-state={c.state}
      aria-selected={selectable ? selected : undefined}
    >
      {selectable && (
        <td class="c-select">
          <input
            type="checkbox"
            aria-label={`Select ${c.name}`}
            checked={selected}
            onChange={(e) => onSelect(c.id, e.currentTarget.checked)}
          />
        </td>
      )}
      <td class="c-state">
        <StateBadge state={c.state} />
      </td>
      <td class="c-name">
        <a href={containerHref(env.id, c.id)}>{c.name}</a>
      </td>
      <td class="c-image" title={c.image}>
        {c.image} <UpdateBadge update={update} />
      </td>
      <td class="c-status">{statusText(c, now)}</td>
      <td class="c-cpu num">{figures ? `${cpuText(figures.cpu)} %` : ""}</td>
      <td class="c-mem num">{figures ? formatBytes(figures.mem) : ""}</td>
      <td class="c-ports">
        <PortList ports={portLabels(c.ports)} />
      </td>
      <td class="c-actions">
        <ContainerActions container={c} compact />
      </td>
    </tr>
  );
}

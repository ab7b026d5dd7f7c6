import type { ContainerItem, UpdateItem } from "../../../src/protocol/views.ts";
import { useEnv } from "../../app/contexts.ts";
import { containerHref } from "../../app/route.ts";
import { portLabels, statusText } from "../../lib/format.ts";
import { ContainerActions } from "./container-actions.tsx";
import { PortList } from "./port-list.tsx";
import { StateBadge } from "./state-badge.tsx";
import { UpdateBadge } from "./updates.tsx";

interface Props {
  container: ContainerItem;
  now: number;
  update?: UpdateItem | undefined;
}

export function ContainerRow({ container: c, now, update }: Props) {
  const env = useEnv();
  return (
    <tr data-testid="container-row" data-name={c.name} data-state={c.state}>
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
      <td class="c-ports">
        <PortList ports={portLabels(c.ports)} />
      </td>
      <td class="c-actions">
        <ContainerActions container={c} />
      </td>
    </tr>
  );
}

import { readFileSync } from 'node:fs';
import type { Duration } from 'aws-cdk-lib';
import { Archive, EventBus, type EventPattern } from 'aws-cdk-lib/aws-events';
import { CfnRegistry, CfnSchema } from 'aws-cdk-lib/aws-eventschemas';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { FINDING_DETAIL_TYPE, FINDING_EVENT_SOURCE } from '../../adapters/eventbridge/finding-bus.js';
import { FINDING_EVENT_SCHEMA_FILE } from '../../adapters/eventbridge/finding-event-schema.js';
import { repoPath } from '../paths.js';
import { pinStatefulResource } from './stateful.js';

export interface FindingsBusProps {
  readonly prefix: string;
  readonly encryptionKey: IKey;
  /** How long the archive keeps each finding. */
  readonly archiveRetention: Duration;
  /** The JSON Schema (draft 4) of a finding event (default: the committed `schemas/trailhound-finding-event.schema.json`). */
  readonly schemaFile?: string;
}

/** The bus's fixed name (the storage stack's key policy names the bus by it, without a reference). */
export function findingsBusName(prefix: string): string {
  return `${prefix}-findings`;
}

/** Every finding event: what the archive keeps and what destinations start from. */
export const FINDING_EVENT_PATTERN: EventPattern = {
  source: [FINDING_EVENT_SOURCE],
  detailType: [FINDING_DETAIL_TYPE],
};

/**
 * The findings bus `<prefix>-findings`: the functions put one event per
 * finding on it (source `trailhound`, detail-type `Trailhound Finding`), and
 * destinations, in this account or others, subscribe with rules. Its fixed
 * name is part of the contract with those subscribers.
 *
 * - An **archive** keeps every finding for the configured days (KMS), so
 *   history can be replayed into a new destination. It is the stateful part
 *   of the bus: retained and pinned like the storage stack's resources, yet
 *   defined here, because an archive is bound to its bus, and the storage
 *   stack must not depend on the detection stack. A replacement bus keeps the
 *   name and ARN, so a retained archive can still replay onto it.
 * - A **schema registry** publishes the event's JSON Schema (generated from
 *   the finding contract), so consumers can discover it and generate code
 *   bindings.
 */
export class FindingsBus extends Construct {
  readonly bus: EventBus;
  readonly archive: Archive;

  constructor(scope: Construct, id: string, props: FindingsBusProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', {
      eventBusName: findingsBusName(props.prefix),
      description: 'Trailhound findings, one event each',
    });
    // Not `bus.archive()`: that helper drops the key.
    this.archive = new Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      description: 'Every Trailhound finding, for replay',
      eventPattern: FINDING_EVENT_PATTERN,
      retention: props.archiveRetention,
      kmsKey: props.encryptionKey,
    });
    pinStatefulResource(this.archive, 'FindingsArchive');

    const registry = new CfnRegistry(this, 'SchemaRegistry', {
      registryName: `${props.prefix}-findings`,
      description: 'Event schemas of the Trailhound findings bus',
    });
    // Parsed and written again: a broken schema file fails the synthesis, and the template carries it minified.
    const schema = JSON.parse(readFileSync(props.schemaFile ?? repoPath(FINDING_EVENT_SCHEMA_FILE), 'utf8'));
    new CfnSchema(this, 'FindingEventSchema', {
      registryName: registry.attrRegistryName,
      schemaName: `${FINDING_EVENT_SOURCE}@${FINDING_DETAIL_TYPE.replaceAll(' ', '')}`,
      type: 'JSONSchemaDraft4',
      content: JSON.stringify(schema),
      description: 'A Trailhound finding (OCSF Detection Finding) on the findings bus',
    });
  }
}

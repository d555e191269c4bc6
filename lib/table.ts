/**
 * The one DynamoDB table, built from functions/adapters/dynamodb/table-definition.ts so the
 * deployed table, the local host's CreateTable and the code's key builders share one definition.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { INDEXES, TABLE_KEYS, type IndexDefinition } from '../functions/adapters/dynamodb/table-definition.js';

const PROJECTIONS: Record<IndexDefinition['projection'], ProjectionType> = {
  ALL: ProjectionType.ALL,
  KEYS_ONLY: ProjectionType.KEYS_ONLY,
};

/**
 * The decision table: string keys, the GSIs of the definition, on-demand, NEW_IMAGE stream (the
 * on-write validation reads the inserted snapshot), point-in-time recovery, TTL for expiring
 * non-snapshot items.
 *
 * The table is audit data: deletion protection is on and the removal policy is RETAIN, so neither
 * `cdk destroy` nor a replacement by a careless change can delete it.
 *
 * Encryption: the AWS managed key (aws/dynamodb) rather than the AWS owned default or a customer
 * managed key. Unlike the owned key, every use of the managed key is recorded in the account's
 * CloudTrail, which an auditor of this data can inspect. A customer managed key would add a key
 * policy and a monthly cost, and a disabled or deleted key would make years of retained audit
 * records unreadable — a failure mode worth opting into only where a compliance regime demands
 * key ownership (swap `TableEncryption.CUSTOMER_MANAGED` in then; the grants CDK makes include
 * the key).
 */
export class DecisionTable extends Construct {
  public readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      stream: StreamViewType.NEW_IMAGE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_KEYS.timeToLiveAttribute,
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: PROJECTIONS[index.projection],
      });
    }
  }
}

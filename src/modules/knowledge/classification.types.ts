import { Field, Float, ObjectType, registerEnumType } from 'type-graphql';
import { ServicePriority } from '../conversations/queue-policy';
import { MessageIntent, Sentiment } from './classification.enums';

export { MessageIntent, Sentiment };

registerEnumType(MessageIntent, {
  name: 'MessageIntent',
  valuesConfig: {
    PRODUCT_INQUIRY: { description: '产品咨询: events, tickets, prices, seats' },
    ORDER_STATUS: { description: '订单状态: payment, ticket issue, delivery' },
    AFTER_SALES: { description: '售后: refunds, changes, transfers, invoices' },
    COMPLAINT: { description: '投诉' },
    ACCOUNT_SUPPORT: { description: '账户: sign-in, password, binding, security' },
    GENERAL: { description: 'Greetings and anything else' },
  },
});

registerEnumType(Sentiment, { name: 'Sentiment' });

@ObjectType({ description: 'Something the agent could do next, from the classifier rules' })
export class SuggestedAction {
  @Field({ description: 'Stable code, e.g. ESCALATE_TO_SUPERVISOR, EMPATHETIC_REPLY' })
  code!: string;

  @Field({ description: 'What to do, in words' })
  label!: string;
}

@ObjectType()
export class IntentScore {
  @Field(() => MessageIntent)
  intent!: MessageIntent;

  @Field(() => Float, { description: "The intent's share of all the evidence found, 0–1" })
  score!: number;
}

@ObjectType({ description: 'What a customer message is about and how they feel, by configurable keyword and pattern rules' })
export class Classification {
  @Field(() => MessageIntent)
  intent!: MessageIntent;

  @Field({ description: "The intent's label from the rules, e.g. 投诉" })
  intentLabel!: string;

  @Field(() => Float, { description: '0–1: how much evidence there is, and how clearly it points to this intent' })
  confidence!: number;

  @Field(() => Sentiment)
  sentiment!: Sentiment;

  @Field(() => Float, { description: '0–1: how strong the sentiment is' })
  sentimentIntensity!: number;

  @Field(() => ServicePriority)
  priority!: ServicePriority;

  @Field(() => [SuggestedAction])
  suggestedActions!: SuggestedAction[];

  @Field(() => [String], { description: 'The keywords and patterns that matched, for the agent to see why' })
  matchedKeywords!: string[];

  @Field(() => [IntentScore], { description: 'Every intent that had any evidence, best first' })
  scores!: IntentScore[];
}

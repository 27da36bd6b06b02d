use super::*;

fn outbound() -> Outbound {
    let http = Arc::new(serenity::Http::new("test-token"));
    Outbound::new(http, 45).expect("an outbound")
}

/// A channel that has just had its five messages: patient requests queue for the next
/// window's places while those come within the patience, and the rest are deferred with the wait they
/// would have had; a place given up (sent, or the task dropped) makes room again.
#[tokio::test]
async fn patient_requests_queue_only_as_far_as_their_patience() {
    let outbound = outbound();
    let channel = 42;
    {
        let mut throttle = outbound.throttle.lock().await;
        for _ in 0..throttle::PER_CHANNEL {
            throttle.record(Some(channel), Instant::now());
        }
    }
    let patience = COMMAND_PATIENCE;
    let mut places = Vec::new();
    let deferred = loop {
        match outbound.get_in_line(channel, patience).await {
            Ok(place) => places.push(place),
            Err(error) => break error,
        }
        assert!(
            places.len() <= throttle::PER_CHANNEL,
            "the queue is bounded"
        );
    };
    assert_eq!(
        places.len(),
        throttle::PER_CHANNEL,
        "the next window's places are taken"
    );
    let SendError::Deferred { wait } = deferred else {
        panic!("deferred, not {deferred:?}")
    };
    assert!(wait > patience, "{wait:?}");
    // Another channel has room at once.
    assert!(outbound.get_in_line(7, patience).await.is_ok());
    places.pop();
    assert!(outbound.get_in_line(channel, patience).await.is_ok());
    // Without patience nothing is deferred: the request waits its turn.
    assert!(PATIENCE.try_with(|p| *p).is_err());
}

/// A channel whose window is full frees its five places at one instant: the patient
/// requests waiting for them go in the order they got in line (the channel shows a
/// burst's messages in the order they were made), each holding the turn until answered.
#[tokio::test]
async fn patient_requests_in_a_channel_go_in_the_order_they_got_in_line() {
    let outbound = Arc::new(outbound());
    let channel = 42;
    {
        let mut throttle = outbound.throttle.lock().await;
        let filled = Instant::now()
            .checked_sub(throttle::CHANNEL_WINDOW)
            .expect("the clock is past five seconds");
        for _ in 0..throttle::PER_CHANNEL {
            throttle.record(Some(channel), filled);
        }
    }
    let gone = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut requests = Vec::new();
    for n in 0..throttle::PER_CHANNEL {
        let (sender, gone) = (outbound.clone(), gone.clone());
        requests.push(tokio::spawn(with_patience(COMMAND_PATIENCE, async move {
            let place = sender.pace(Some(channel)).await.expect("within patience");
            assert!(place.is_some(), "a patient request has a place");
            // The request's trip to Discord, the later ones' trips shorter.
            let trip = throttle::PER_CHANNEL - n;
            let trip = u32::try_from(trip).expect("a few");
            tokio::time::sleep(Duration::from_millis(5) * trip).await;
            gone.lock().expect("the record").push(n);
        })));
        // The next one gets in line after this one has.
        while outbound.wait_in_line(channel).await < behind(Duration::ZERO, n + 1) {
            tokio::task::yield_now().await;
        }
    }
    for request in requests {
        request.await.expect("the request");
    }
    let order = gone.lock().expect("the record").clone();
    assert_eq!(order, (0..throttle::PER_CHANNEL).collect::<Vec<_>>());
    let waiting = outbound.waiting.lock().expect("the lines");
    assert!(!waiting.contains_key(&channel), "the line is empty");
}

/// Commands deciding at the same moment at a quiet channel are promised only the places
/// it has within their patience, and the rest are due later, in order; a promise is kept
/// by the send it was made for, which then gets in line whatever the wait, while a
/// request promised nothing finds the places spoken for.
#[tokio::test]
async fn a_burst_deciding_together_is_promised_only_the_room_there_is() {
    let outbound = outbound();
    let channel = 42;
    let now = chrono::Utc::now();
    let mut decided = Vec::new();
    for n in 0..40 {
        decided.push(
            outbound
                .due_later(channel, &format!("announce:{n}"), now)
                .await,
        );
    }
    let room = (0..)
        .take_while(|n| behind(Duration::ZERO, *n) <= COMMAND_PATIENCE)
        .count();
    let promised = decided.iter().take_while(|d| d.is_none()).count();
    assert_eq!(promised, room, "{decided:?}");
    let later: Vec<_> = decided[room..].iter().flatten().collect();
    assert_eq!(later.len(), 40 - room, "the rest are due later");
    assert!(later.windows(2).all(|w| w[0] <= w[1]), "in order");

    assert!(
        outbound
            .get_in_line(channel, COMMAND_PATIENCE)
            .await
            .is_err(),
        "a request promised nothing waits behind the promises"
    );
    let place = keeping_promise(
        "announce:0",
        outbound.get_in_line(channel, COMMAND_PATIENCE),
    )
    .await;
    assert!(place.is_ok(), "the promise is kept");
    assert_eq!(
        outbound.wait_in_line(channel).await,
        behind(Duration::ZERO, room),
        "a kept promise counts once, in line"
    );
}

/// Messages left to the outbox for a busy channel are due in the order they were left,
/// though each one's own estimate may come out a little earlier than the one before.
#[test]
fn messages_left_for_a_busy_channel_are_due_in_the_order_they_were_left() {
    let outbound = outbound();
    let at = chrono::Utc::now() + chrono::TimeDelta::seconds(10);
    let jitter = chrono::TimeDelta::microseconds(3);
    let first = outbound.deferred_until(42, at);
    let second = outbound.deferred_until(42, at - jitter);
    let third = outbound.deferred_until(42, at + jitter);
    assert_eq!((first, second, third), (at, at, at + jitter));
    assert_eq!(
        outbound.deferred_until(7, at - jitter),
        at - jitter,
        "each channel its own"
    );
}

#[test]
fn a_deferred_request_is_tried_again_when_the_channel_has_room_without_counting() {
    let now = chrono::Utc::now();
    let error = anyhow::Error::new(SendError::Deferred {
        wait: Duration::from_secs(3),
    });
    assert_eq!(
        failure::decide(&error, 0, now),
        crate::domain::outbox::Retry::At {
            at: now + chrono::TimeDelta::seconds(3),
            counts: false,
            global: false
        }
    );
}
